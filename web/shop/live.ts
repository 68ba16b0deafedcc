// Live updates: the two WebSockets that keep the screen current without polling. The cart's
// (POST /v1/cart/live/ticket, then /v1/cart/live?ticket=) brings the new cart whenever the same
// cart changes in another tab or device, and the service's price and stock alerts; a SKU's
// (/v1/skus/{skuId}/live, fed by the queue consumer) brings the flash page its units left.
import type { Cart, LiveTicket, Sku } from "./api";
import { api } from "./api";
import { setCart } from "./cart";
import { money } from "./dom";
import { showOk } from "./notice";
import { onLeave } from "./page";

let socket: WebSocket | null = null;
let socketGen = 0;

function socketUrl(path: string): URL {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** (Re)opens the cart's live socket for the current identity; call after sign-in and sign-out. */
export async function connectLive(): Promise<void> {
  const gen = ++socketGen;
  socket?.close(1000);
  socket = null;
  setLive(false);
  let ticket: string;
  try {
    ticket = (await api<LiveTicket>("POST", "/v1/cart/live/ticket")).ticket;
  } catch {
    if (gen === socketGen) setTimeout(() => gen === socketGen && void connectLive(), 3000);
    return;
  }
  if (gen !== socketGen) return;
  const ws = new WebSocket(socketUrl(`/v1/cart/live?ticket=${encodeURIComponent(ticket)}`));
  socket = ws;
  ws.addEventListener("open", () => setLive(true));
  ws.addEventListener("message", (e) => {
    if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
    const msg = JSON.parse(e.data) as { type: string; cart?: Cart; alert?: { type: string; skuId: string } };
    if (msg.type === "cart" && msg.cart) setCart(msg.cart);
    if (msg.alert && msg.cart) announceAlert(msg.alert, msg.cart);
  });
  ws.addEventListener("close", () => {
    if (gen !== socketGen) return;
    setLive(false);
    setTimeout(() => gen === socketGen && void connectLive(), 2000); // a new ticket each time
  });
}

/** A price or stock alert pushed by the service (the line itself is marked in the drawer). */
function announceAlert(alert: { type: string; skuId: string }, c: Cart): void {
  const line = c.items.find((l) => l.skuId === alert.skuId);
  if (!line) return;
  const price = money(line.currentPrice, c.currency ?? "USD");
  const text: Record<string, string> = {
    "cart.price_dropped": `Price drop: ${line.name} is now ${price}.`,
    "cart.price_raised": `Price up: ${line.name} is now ${price}.`,
    "cart.stock_short": `${line.name}: fewer left than you have in the cart.`,
    "cart.sku_unavailable": `${line.name} is no longer available.`,
  };
  showOk(text[alert.type] ?? `${line.name} changed.`);
}

/** The cart drawer's live dot and body[data-live] (the drawer reads it when it draws itself). */
function setLive(on: boolean): void {
  document.body.dataset.live = on ? "on" : "off";
  document.getElementById("cart")!.querySelector(".live")?.classList.toggle("on", on);
}

export type StockUpdate = Pick<Sku, "available" | "status" | "price" | "saleStartsAt">;

/** The SKU's live stock socket, closed when the page changes; it reconnects after a drop. */
export function watchStock(skuId: string, onUpdate: (u: StockUpdate) => void): void {
  let closed = false;
  let ws: WebSocket | null = null;
  const open = () => {
    ws = new WebSocket(socketUrl(`/v1/skus/${encodeURIComponent(skuId)}/live`));
    ws.addEventListener("open", () => (document.body.dataset.stockLive = "on"));
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
      const msg = JSON.parse(e.data) as { type: string; skuId: string } & StockUpdate;
      if (msg.type === "stock" && msg.skuId === skuId) onUpdate(msg);
    });
    ws.addEventListener("close", () => {
      document.body.dataset.stockLive = "off";
      if (!closed) setTimeout(() => !closed && open(), 2000);
    });
  };
  open();
  onLeave(() => {
    closed = true;
    ws?.close(1000);
  });
}
