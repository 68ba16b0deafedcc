// The storefront's entry (bundled by dev/storefront-assets.ts): the hash router that draws one
// page at a time (catalog.ts, orders.ts, flash.ts) into page.ts's element, and start-up: the
// account box (account.ts), the cart drawer (cart.ts) and its live socket (live.ts).
import { initAccount } from "./account";
import { initCart, reloadCart } from "./cart";
import { gridPage, productPage } from "./catalog";
import { h, mount } from "./dom";
import { flashPage } from "./flash";
import { connectLive } from "./live";
import { clearNotice, showError } from "./notice";
import { orderPage, ordersPage } from "./orders";
import { leavePage, main, setRouter } from "./page";

async function route(): Promise<void> {
  leavePage();
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts.length === 0) await gridPage(new URLSearchParams(query));
    else if (parts[0] === "p" && parts[1]) await productPage(parts[1]);
    else if (parts[0] === "orders" && parts[1]) await orderPage(parts[1]);
    else if (parts[0] === "orders") await ordersPage();
    else if (parts[0] === "flash" && parts[1]) await flashPage(parts[1]);
    else mount(main(), h("h1", {}, "Not found"), h("a", { href: "#/" }, "Back to products"));
  } catch (err) {
    showError(err);
    mount(main(), h("h1", {}, "This page could not be loaded"), h("p", {}, (err as Error).message));
  }
  document.body.dataset.ready = "true";
}

async function start(): Promise<void> {
  setRouter(route);
  await initAccount();
  initCart((order) => (location.hash = `#/orders/${encodeURIComponent(order.orderId)}`));
  window.addEventListener("hashchange", () => {
    clearNotice();
    void route();
  });
  await Promise.all([reloadCart(), route()]);
  void connectLive();
}

void start();
