// The page's one message line: what an action did, or the problem's title and detail.
import { h, mount } from "../shop/dom";
import { ApiError } from "./api";

const box = () => document.getElementById("notice")!;

export function showError(err: unknown): void {
  const el = box();
  el.className = "notice";
  const title = err instanceof ApiError ? err.problem.title : "Something went wrong";
  const detail = err instanceof ApiError ? (err.problem.detail ?? "") : String(err);
  mount(el, h("strong", {}, `${title}. `), detail);
  el.hidden = false;
}

export function showOk(message: string): void {
  const el = box();
  el.className = "notice ok";
  mount(el, message);
  el.hidden = false;
}
