// The ops page's entry (bundled by dev/storefront-assets.ts, served at /ops/): asks for the
// admin token once per tab (sessionStorage), then draws the live charts (charts.ts), the stock
// table with promotions (stock.ts) and the dead letters (dead-letters.ts), and refreshes them
// every few seconds. Each section draws on its own: one failing call leaves the others live.
import { h, mount } from "../shop/dom";
import { admin, adminToken, ApiError, type DeadLetter, type Metrics, type Stock, tokenRefused } from "./api";
import { drawCharts } from "./charts";
import { deadLettersPath, drawDeadLetters } from "./dead-letters";
import { drawStock } from "./stock";

const REFRESH_MS = 3_000;
const byId = (id: string) => document.getElementById(id)!;

let timer: number | undefined;
let refreshing: Promise<void> | null = null;
let refreshes = 0;

function sectionError(target: HTMLElement, title: string, err: unknown): void {
  const detail = err instanceof ApiError ? err.message : String(err);
  mount(target, h("h2", {}, title), h("p", { class: "drift", role: "status" }, `Could not load: ${detail}`));
}

async function section<T>(
  id: string,
  title: string,
  path: string,
  draw: (target: HTMLElement, data: T) => void,
): Promise<boolean> {
  const target = byId(id);
  try {
    draw(target, await admin<T>("GET", path));
    return true;
  } catch (err) {
    if (tokenRefused(err)) return false;
    sectionError(target, title, err);
    return true;
  }
}

/** One refresh of every section; a refused token sends the operator back to the token form. */
function refresh(): Promise<void> {
  refreshing ??= (async () => {
    const results = await Promise.all([
      section<Metrics>("charts", "Live", "/v1/admin/metrics", drawCharts),
      section<Stock>("stock", "Stock", "/v1/admin/stock", (t, s) => drawStock(t, s, refresh)),
      section<{ deadLetters: DeadLetter[] }>("dead-letters", "Dead letters", deadLettersPath(), (t, d) =>
        drawDeadLetters(t, d.deadLetters, refresh),
      ),
    ]);
    refreshing = null;
    if (results.includes(false)) return askForToken("The admin token was refused.");
    byId("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.refreshes = String(++refreshes);
    document.body.dataset.ready = "true";
  })();
  return refreshing;
}

function startRefreshing(): void {
  byId("token-form").hidden = true;
  byId("token-error").textContent = "";
  byId("dashboard").hidden = false;
  void refresh();
  timer = window.setInterval(() => void refresh(), REFRESH_MS);
}

function askForToken(why = ""): void {
  window.clearInterval(timer);
  adminToken.forget();
  byId("dashboard").hidden = true;
  const form = byId("token-form");
  form.hidden = false;
  byId("token-error").textContent = why;
  (byId("admin-token") as HTMLInputElement).focus();
  document.body.dataset.ready = "true";
}

function start(): void {
  byId("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byId("admin-token") as HTMLInputElement;
    if (!input.value.trim()) return;
    adminToken.set(input.value.trim());
    input.value = "";
    startRefreshing();
  });
  byId("forget-token").addEventListener("click", () => askForToken());
  if (adminToken.get()) startRefreshing();
  else askForToken();
}

start();
