// The cart drawer: lines grouped by merchant with price markers, stock/limit flags and
// discounts, quantity +/-, remove, batch remove, select per line / merchant / all, the
// promotion code (cart-code.ts), the selected lines' subtotal, discounts and total, and
// checkout. It stays live through live.ts, which hands it each cart pushed by the service.
import type { Cart, Line, PlacedOrder } from "./api";
import { ApiError, api, identity } from "./api";
import { codeField, codeRefused } from "./cart-code";
import { lineDiscounts, sumsView } from "./discounts";
import { h, money, mount, specText } from "./dom";
import { showError, showOk } from "./notice";

let cart: Cart | null = null;
let onCheckout: (order: PlacedOrder) => void = () => {};
const marked = new Set<string>(); // lines ticked for batch removal

const drawer = () => document.getElementById("cart")!;
const toggle = () => document.getElementById("cart-toggle") as HTMLButtonElement;

export function currentCart(): Cart | null {
  return cart;
}

export function initCart(checkoutDone: (order: PlacedOrder) => void): void {
  onCheckout = checkoutDone;
  toggle().addEventListener("click", () => (drawer().hidden ? openCart() : closeCart()));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !drawer().hidden) closeCart();
  });
}

export function openCart(): void {
  // Below the header, so the header (cart button, account) stays usable while the drawer is open.
  drawer().style.top = `${Math.max(0, document.querySelector(".top")!.getBoundingClientRect().bottom)}px`;
  drawer().hidden = false;
  toggle().setAttribute("aria-expanded", "true");
  (drawer().querySelector("h2") as HTMLElement | null)?.focus();
}

export function closeCart(): void {
  drawer().hidden = true;
  toggle().setAttribute("aria-expanded", "false");
  toggle().focus();
}

/** Shows a cart if it is not older than the one on screen (live pushes and answers may cross). */
export function setCart(next: Cart): void {
  if (cart && next.cartId === cart.cartId && next.version < cart.version) return;
  cart = next;
  render();
}

/**
 * Reads the cart again. A read names the version on screen (If-None-Match: its ETag) when that
 * is this identity's cart, so the API may answer from the cart's edge snapshot, or 304 when
 * nothing changed (the cart on screen stays). `fresh`: name nothing, so the cart's actor
 * renders it now (after a refusal that says the prices on screen are stale).
 */
export async function reloadCart(fresh = false): Promise<void> {
  const seen = !fresh && cart?.cartId === identity.cartId() ? cart : null;
  if (!seen) cart = null; // another identity's (or a stale) cart: whatever version comes is shown
  try {
    const next = await api<Cart | null>(
      "GET",
      "/v1/cart",
      undefined,
      seen ? { "if-none-match": `"${seen.version}"` } : {},
    );
    if (next) setCart(next);
  } catch (err) {
    showError(err);
  }
}

async function mutate(method: string, path: string, body?: unknown): Promise<void> {
  try {
    setCart(await api<Cart>(method, path, body));
  } catch (err) {
    showError(err);
  }
}

function lineView(line: Line, currency: string): HTMLElement {
  const id = `sel-${line.skuId}`;
  const flags = [
    line.priceChange === "up" &&
      h("span", { class: "flag up", "data-flag": "price-up" }, `Price up from ${money(line.unitPrice, currency)}`),
    line.priceChange === "down" &&
      h(
        "span",
        { class: "flag down", "data-flag": "price-down" },
        `Price down from ${money(line.unitPrice, currency)}`,
      ),
    (!line.available || line.outOfStock) &&
      h("span", { class: "flag stock", "data-flag": "stock" }, line.available ? "Not enough stock" : "Unavailable"),
    line.limitExceeded && h("span", { class: "flag limit", "data-flag": "limit" }, "Over the purchase limit"),
  ];
  return h(
    "li",
    { class: "line", "data-sku": line.skuId },
    h("input", {
      type: "checkbox",
      id,
      checked: line.selected,
      "aria-label": `Select ${line.name} for checkout`,
      onchange: (e: Event) =>
        mutate("POST", "/v1/cart/select", { selected: (e.target as HTMLInputElement).checked, skuIds: [line.skuId] }),
    }),
    h(
      "div",
      {},
      h("label", { for: id, class: "inline" }, h("strong", {}, line.name)),
      h("div", { class: "muted" }, specText(line.spec)),
      h(
        "div",
        {},
        h("span", { class: "price" }, money(line.currentPrice, currency)),
        " × ",
        h("span", { "data-qty": "" }, String(line.quantity)),
        " = ",
        money(line.lineTotal, currency),
      ),
      lineDiscounts(line.discounts, currency),
      flags,
    ),
    h(
      "div",
      { class: "controls" },
      h(
        "button",
        {
          type: "button",
          "aria-label": `One less ${line.name}`,
          onclick: () =>
            mutate("PATCH", `/v1/cart/items/${encodeURIComponent(line.skuId)}`, { quantity: line.quantity - 1 }),
        },
        "−",
      ),
      h(
        "button",
        {
          type: "button",
          "aria-label": `One more ${line.name}`,
          onclick: () =>
            mutate("PATCH", `/v1/cart/items/${encodeURIComponent(line.skuId)}`, { quantity: line.quantity + 1 }),
        },
        "+",
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Remove ${line.name}`,
          onclick: () => mutate("DELETE", `/v1/cart/items/${encodeURIComponent(line.skuId)}`),
        },
        "Remove",
      ),
      h(
        "label",
        { class: "inline" },
        h("input", {
          type: "checkbox",
          checked: marked.has(line.skuId),
          onchange: (e: Event) =>
            (e.target as HTMLInputElement).checked ? marked.add(line.skuId) : marked.delete(line.skuId),
        }),
        "mark to remove",
      ),
    ),
  );
}

/** Draws the cart; a control that had the focus (by its id: a line's checkbox, the code field) keeps it. */
function render(): void {
  const active = document.activeElement;
  const focused = active instanceof HTMLInputElement && drawer().contains(active) && active.id ? active : null;
  draw();
  const again = focused && (document.getElementById(focused.id) as HTMLInputElement | null);
  if (!again || again === focused) return;
  again.focus();
  if (focused.type === "text") again.setSelectionRange(focused.selectionStart, focused.selectionEnd);
}

function draw(): void {
  document.getElementById("cart-count")!.textContent = String(cart?.totals.totalQuantity ?? 0);
  const root = drawer();
  const live = document.body.dataset.live === "on";
  const head = h(
    "header",
    {},
    h(
      "h2",
      { tabindex: -1 },
      "Cart ",
      h("span", { class: `live${live ? " on" : ""}`, title: "live updates", "aria-hidden": "true" }),
    ),
    h("button", { type: "button", onclick: closeCart, "aria-label": "Close cart" }, "Close"),
  );
  if (!cart || cart.items.length === 0) {
    mount(root, head, h("p", {}, "Your cart is empty."));
    return;
  }
  const currency = cart.currency ?? "USD";
  const merchants = new Map<string, Line[]>();
  for (const line of cart.items) merchants.set(line.merchantId, [...(merchants.get(line.merchantId) ?? []), line]);
  for (const sku of [...marked]) if (!cart.items.some((l) => l.skuId === sku)) marked.delete(sku);
  const allSelected = cart.items.every((l) => l.selected);
  const t = cart.totals;
  mount(
    root,
    head,
    h(
      "label",
      { class: "inline" },
      h("input", {
        type: "checkbox",
        checked: allSelected,
        onchange: (e: Event) =>
          mutate("POST", "/v1/cart/select", { selected: (e.target as HTMLInputElement).checked, all: true }),
      }),
      "Select all",
    ),
    [...merchants].map(([merchantId, lines]) =>
      h(
        "section",
        { class: "merchant", "data-merchant": merchantId, "aria-label": `Merchant ${merchantId}` },
        h(
          "label",
          { class: "inline" },
          h("input", {
            type: "checkbox",
            checked: lines.every((l) => l.selected),
            "aria-label": `Select all from ${merchantId}`,
            onchange: (e: Event) =>
              mutate("POST", "/v1/cart/select", { selected: (e.target as HTMLInputElement).checked, merchantId }),
          }),
          h("strong", {}, merchantId),
        ),
        h(
          "ul",
          { style: "list-style:none;padding:0;margin:0" },
          lines.map((l) => lineView(l, currency)),
        ),
      ),
    ),
    codeField(cart, setCart),
    h(
      "div",
      { class: "totals" },
      h("div", { class: "muted" }, `${t.totalQuantity} item(s), ${money(t.totalAmount, currency)} in the cart`),
      sumsView(t, currency, { subtotalLabel: `Selected: ${t.selectedCount} unit(s)`, testid: "cart" }),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: () =>
            marked.size
              ? mutate("POST", "/v1/cart/items/batch-delete", { skuIds: [...marked] })
              : showError(new Error("tick “mark to remove” on the lines to remove first")),
        },
        "Remove marked",
      ),
      h(
        "button",
        { type: "button", class: "primary", disabled: t.selectedCount === 0, onclick: () => checkout() },
        "Check out selected",
      ),
      !identity.user() && h("p", { class: "muted" }, "Sign in to check out; your cart comes with you."),
    ),
  );
}

let pendingKey: { key: string; version: number } | null = null;

async function checkout(): Promise<void> {
  if (!cart) return;
  if (!identity.user()) {
    showError(new Error("sign in to check out (your guest cart is merged into your account)"));
    (document.getElementById("signin-user") as HTMLElement | null)?.focus();
    return;
  }
  // One key per cart version: a double click or a retry after a lost answer gets the same order.
  if (!pendingKey || pendingKey.version !== cart.version)
    pendingKey = { key: crypto.randomUUID(), version: cart.version };
  try {
    // The total after discounts: what the shopper saw and will pay (the subtotal would be refused).
    const order = await api<PlacedOrder>(
      "POST",
      "/v1/checkout",
      { expectedTotal: cart.totals.total },
      { "idempotency-key": pendingKey.key },
    );
    pendingKey = null;
    showOk(`Order placed: ${order.orderId}`);
    await reloadCart();
    closeCart();
    onCheckout(order);
  } catch (err) {
    showError(err);
    if (cart) codeRefused(err, cart);
    // A price or discount changed without the cart changing (same version): show the new total.
    if (err instanceof ApiError && err.code === "PRICE_CHANGED") await reloadCart(true);
  }
}
