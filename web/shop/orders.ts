// The orders pages: a signed-in shopper's order list, and one order with its items, status and,
// while it is PENDING, the time left to pay, a cancel button and (development) the test payment.
import type { Order } from "./api";
import { api, identity } from "./api";
import { devTools } from "./account";
import { countdown, h, money, mount, specText, tableHead } from "./dom";
import { showError, showOk } from "./notice";
import { every, main, redraw } from "./page";

export async function ordersPage(): Promise<void> {
  if (!identity.user()) {
    mount(main(), h("h1", {}, "Orders"), h("p", {}, "Sign in to see your orders."));
    return;
  }
  const list = await api<{ items: Order[]; next: string | null }>("GET", "/v1/orders?limit=50");
  mount(
    main(),
    h("h1", {}, "Orders"),
    list.items.length === 0
      ? h("p", {}, "No orders yet.")
      : h(
          "table",
          {},
          tableHead("Order", "Status", "Total", "Placed"),
          h(
            "tbody",
            {},
            list.items.map((o) =>
              h(
                "tr",
                { "data-order": o.orderId },
                h(
                  "td",
                  {},
                  h("a", { href: `#/orders/${encodeURIComponent(o.orderId)}` }, o.orderId.slice(0, 16) + "…"),
                ),
                h("td", { class: `status ${o.status}` }, o.status),
                h("td", {}, money(o.total, o.currency)),
                h("td", {}, o.createdAt ? new Date(o.createdAt).toLocaleString() : ""),
              ),
            ),
          ),
        ),
  );
}

export async function orderPage(orderId: string): Promise<void> {
  const order = await api<Order>("GET", `/v1/orders/${encodeURIComponent(orderId)}`);
  const pending = order.status === "PENDING";
  const left = h("span", { "data-testid": "expires-in" });
  const act = async (what: "cancel" | "pay") => {
    try {
      if (what === "cancel") await api("POST", `/v1/orders/${encodeURIComponent(orderId)}/cancel`);
      else await api("POST", `/v1/dev/orders/${encodeURIComponent(orderId)}/pay`);
      showOk(what === "cancel" ? "Order cancelled; the stock is released." : "Payment sent by the test provider.");
    } catch (err) {
      showError(err);
    }
    await redraw();
  };
  mount(
    main(),
    h("p", {}, h("a", { href: "#/orders" }, "← Orders")),
    h("h1", {}, "Order"),
    h("p", { class: "muted" }, order.orderId),
    h("p", {}, "Status: ", h("span", { class: `status ${order.status}`, "data-testid": "order-status" }, order.status)),
    pending && h("p", {}, "Pay within ", left, " or the reservation is released."),
    h(
      "table",
      {},
      tableHead("Item", "Qty", "Price"),
      h(
        "tbody",
        {},
        order.items.map((i) =>
          h(
            "tr",
            {},
            h("td", {}, i.name, " ", h("span", { class: "muted" }, specText(i.spec))),
            h("td", {}, String(i.quantity)),
            h("td", {}, money(i.unitPrice, order.currency)),
          ),
        ),
      ),
    ),
    h("p", { class: "big" }, money(order.total, order.currency)),
    pending &&
      devTools() &&
      h("button", { type: "button", class: "primary", onclick: () => act("pay") }, "Pay with the test provider"),
    pending &&
      h(
        "button",
        { type: "button", class: "danger", style: "margin-left:8px", onclick: () => act("cancel") },
        "Cancel order",
      ),
  );
  if (pending) {
    every(1000, () => {
      left.textContent = countdown(order.expiresAt);
      if (Date.parse(order.expiresAt) <= Date.now()) void redraw();
    });
  }
}
