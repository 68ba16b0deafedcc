// One place where errors and confirmations are shown: a problem's title and detail, read out by screen readers.
import { friendly } from "./api";
import { h, mount } from "./dom";

const box = () => document.getElementById("notice")!;

export function showError(err: unknown): void {
  const { title, detail } = friendly(err);
  const el = box();
  el.className = "notice";
  el.dataset.code = (err as { code?: string }).code ?? "";
  mount(
    el,
    h("h2", {}, title),
    h("p", { style: "margin:0" }, detail),
    h("button", { type: "button", onclick: clearNotice }, "Dismiss"),
  );
  el.hidden = false;
}

export function showOk(message: string): void {
  const el = box();
  el.className = "notice ok";
  el.dataset.code = "";
  mount(el, h("p", { style: "margin:0" }, message));
  el.hidden = false;
}

export function clearNotice(): void {
  box().hidden = true;
}
