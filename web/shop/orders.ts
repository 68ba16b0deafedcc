// The orders pages: a signed-in shopper's order list, and one order with its items, status,
// subtotal, discounts and total (what is paid) and, while it is PENDING, the time left to pay,
// the payment (Stripe's Payment Element, or the development test provider: payment.ts) and a
// cancel button.
import type { Order, OrderPage } from "./api";
import { api, identity } from "./api";
import { lineDiscounts, sumsView } from "./discounts";
import { countdown, h, money, mount, specText, tableHead } from "./dom";
import { showError, showOk } from "./notice";
import { every, main, redraw } from "./page";
import { paymentBox } from "./payment";

/** After a payment was sent: the provider's webhook turns the order PAID (at once, or a moment later with Stripe). */
async function untilSettled(orderId: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const order = await api<Order>("GET", `/v1/orders/${encodeURIComponent(orderId)}`).catch(() => null);
    if (order && order.status !== "PENDING") break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await redraw();
}

export async function ordersPage(): Promise<void> {
  if (!identity.user()) {
    mount(main(), h("h1", {}, "Orders"), h("p", {}, "Sign in to see your orders."));
    return;
  }
  const list = await api<OrderPage>("GET", "/v1/orders?limit=50");
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
  const cancel = async () => {
    try {
      await api("POST", `/v1/orders/${encodeURIComponent(orderId)}/cancel`);
      showOk("Order cancelled; the stock is released.");
    } catch (err) {
      showError(err);
    }
    await redraw();
  };
  const payment = pending ? await paymentBox(orderId, () => untilSettled(orderId)) : null;
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
            h(
              "td",
              {},
              i.name,
              " ",
              h("span", { class: "muted" }, specText(i.spec)),
              lineDiscounts(i.discounts, order.currency),
            ),
            h("td", {}, String(i.quantity)),
            h("td", {}, money(i.unitPrice, order.currency)),
          ),
        ),
      ),
    ),
    // Orders placed before promotions carry no subtotal: nothing was taken off.
    sumsView(
      { subtotal: order.subtotal ?? order.total, discounts: order.discounts ?? [], total: order.total },
      order.currency,
      { subtotalLabel: "Subtotal", testid: "order" },
    ),
    payment,
    pending &&
      h(
        "button",
        // Beside the test provider's button; under Stripe's payment box.
        {
          type: "button",
          class: "danger",
          style: payment?.tagName === "BUTTON" ? "margin-left:8px" : null,
          onclick: cancel,
        },
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
