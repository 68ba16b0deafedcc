// The flash-sale page of one SKU: units left (pushed live), the countdown to the sale, and the
// buy button, one idempotency key per intended purchase, with each refusal said in plain words.
import type { PlacedOrder, Sku } from "./api";
import { api, ApiError, identity } from "./api";
import { countdown, h, money, mount, specText } from "./dom";
import { watchStock } from "./live";
import { clearNotice, showError } from "./notice";
import { every, main } from "./page";

/**
 * The flash-sale page. Units left are pushed: the page holds a WebSocket on
 * /v1/skus/{skuId}/live (fed by the queue consumer, about a second behind the SKU actor),
 * and re-reads the SKU view only after its own buys and every 30 s as a safety net.
 */
export async function flashPage(skuId: string): Promise<void> {
  let sku = await api<Sku>("GET", `/v1/skus/${encodeURIComponent(skuId)}`);
  const units = h("span", { class: "big", "data-testid": "units-left" }, String(sku.available));
  const clock = h("p", { "data-testid": "sale-countdown" });
  const result = h("div", { "aria-live": "polite", "data-testid": "flash-result" });
  const qty = h("input", {
    id: "flash-qty",
    type: "number",
    min: 1,
    max: sku.purchaseLimit ?? 999,
    value: "1",
    style: "width:4.5em",
  });
  const buy = h("button", { type: "button", class: "primary", onclick: () => buyNow() }, "Buy now");
  const refresh = async () => {
    if (document.hidden) return;
    try {
      sku = await api<Sku>("GET", `/v1/skus/${encodeURIComponent(skuId)}`);
      units.textContent = String(sku.available);
    } catch {
      /* keep the last value */
    }
  };
  let key = crypto.randomUUID(); // one per intended purchase: a retry after a lost answer gets the same order
  const buyNow = async () => {
    if (!identity.user()) {
      showError(new Error("sign in to buy in a flash sale"));
      return;
    }
    buy.disabled = true;
    try {
      const order = await api<PlacedOrder>(
        "POST",
        `/v1/flash/${encodeURIComponent(skuId)}/orders`,
        { quantity: Number(qty.value) || 1 },
        { "idempotency-key": key },
      );
      key = crypto.randomUUID();
      mount(
        result,
        h(
          "p",
          { class: "notice ok" },
          "You got it! ",
          h("a", { href: `#/orders/${encodeURIComponent(order.orderId)}` }, "Pay for your order"),
        ),
      );
      clearNotice();
    } catch (err) {
      if (err instanceof ApiError && err.code !== "RATE_LIMITED") key = crypto.randomUUID();
      const code = err instanceof ApiError ? err.code : "";
      const text: Record<string, string> = {
        SOLD_OUT: "Sold out. Every unit has been taken.",
        LIMIT_EXCEEDED: "You already have as many as one person may buy.",
        RATE_LIMITED: "Lots of people are trying right now: wait a moment and try again.",
        SALE_NOT_STARTED: "Not yet: the sale has not started.",
      };
      mount(
        result,
        h("p", { class: "notice", "data-code": code }, h("strong", {}, text[code] ?? "Could not buy."), " "),
      );
      showError(err);
    } finally {
      buy.disabled = false;
      void refresh();
    }
  };
  mount(
    main(),
    h("p", {}, h("a", { href: "#/" }, "← Products")),
    h("h1", {}, `Flash sale: ${sku.name}`),
    h("p", { class: "muted" }, specText(sku.spec)),
    h("p", { class: "price big" }, money(sku.price, sku.currency)),
    h("p", {}, units, " units left ", h("span", { class: "muted" }, "(live)")),
    clock,
    sku.purchaseLimit !== null && h("p", {}, `Limit ${sku.purchaseLimit} per person.`),
    h("label", { class: "inline" }, "Quantity", qty),
    buy,
    result,
  );
  every(30_000, () => void refresh());
  watchStock(skuId, (update) => {
    sku = { ...sku, ...update };
    units.textContent = String(update.available);
  });
  every(1000, () => {
    const starts = sku.saleStartsAt ? Date.parse(sku.saleStartsAt) : 0;
    clock.textContent = starts > Date.now() ? `Sale starts in ${countdown(sku.saleStartsAt!)}` : "The sale is on.";
    buy.disabled = starts > Date.now();
  });
}
