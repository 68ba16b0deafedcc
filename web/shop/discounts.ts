// How discounts are shown and said: the sums (subtotal, each discount, total) of the cart drawer
// and the order page, a line's discounts, and why a promotion code gives no discount, in plain
// sentences (the API's refusal codes and conditions: docs/API.md, Promotions).
import type { components } from "./api-types";
import { h, money } from "./dom";

type Cart = components["schemas"]["Cart"];
/** Why a promotion code gives no discount: the unmet condition and the promotion's terms it names. */
export type PromotionReason = NonNullable<NonNullable<Cart["promotion"]>["reason"]>;
/** One promotion's discount on a line, or (with its kind) on a whole cart or order; no code = automatic. */
export type LineDiscount = Cart["items"][number]["discounts"][number];
export type Discount = Cart["totals"]["discounts"][number];

/** A discount's name for the shopper: its code, or "automatic" for a promotion without one. */
export function discountName(d: LineDiscount): string {
  return d.code ?? "automatic";
}

/** "−$2.00": a discount is money taken off (a real minus sign, read as "minus"). */
export function minus(amount: number, currency: string): string {
  return `−${money(amount, currency)}`;
}

/** A promotion refusal (or the reason a code on the cart gives nothing now) in a sentence; null if not one. */
export function promotionSentence(reason: PromotionReason & { promotionCode?: string }): string | null {
  switch (reason.code) {
    case "PROMOTION_UNKNOWN":
      return `There is no code ${reason.promotionCode ?? "like that"}: check its spelling.`;
    case "PROMOTION_EXPIRED":
      return "This code has ended.";
    case "PROMOTION_EXHAUSTED":
      return "This code has been used up: it has no uses left.";
    case "PROMOTION_LIMIT_PER_CUSTOMER":
      return "You have already used this code as many times as one customer may.";
    case "PROMOTION_NOT_APPLICABLE":
      return conditionSentence(reason);
    default:
      return null;
  }
}

function conditionSentence(reason: PromotionReason): string {
  switch (reason.condition) {
    case "min_subtotal":
      return reason.minSubtotal === undefined
        ? "This code needs a larger cart."
        : `This code needs a cart of at least ${money(reason.minSubtotal, reason.currency ?? "USD")}.`;
    case "starts_at":
      return reason.startsAt
        ? `This code starts on ${new Date(reason.startsAt).toLocaleString()}.`
        : "This code has not started yet.";
    case "currency":
      return `This code is for carts in ${reason.currency ?? "another currency"}.`;
    case "matching_lines":
      return "This code does not cover the items selected in your cart.";
    case "buy_x":
      return `This code needs more of the items it covers (${reason.detail}).`;
    case "sign_in":
      return "Sign in to use this code.";
    default:
      return `This code does not apply (${reason.detail}).`;
  }
}

/** A cart or order line's discounts, one per promotion: "WELCOME10: −$2.00". */
export function lineDiscounts(discounts: readonly LineDiscount[] | undefined, currency: string): HTMLElement[] {
  return (discounts ?? []).map((d) =>
    h(
      "div",
      { class: "discount", "data-discount": discountName(d) },
      `${d.code ?? "Automatic discount"}: ${minus(d.amount, currency)}`,
    ),
  );
}

/**
 * Subtotal, each discount and the total, as a definition list. `subtotalLabel` names what the
 * subtotal counts (the drawer's selected units); `testid` prefixes the rows' test ids.
 */
export function sumsView(
  sums: { subtotal: number; discounts: readonly Discount[]; total: number },
  currency: string,
  opts: { subtotalLabel: string; testid: string },
): HTMLElement {
  const row = (label: string, value: string, attrs: Record<string, unknown> = {}) =>
    h("div", attrs, h("dt", {}, label), h("dd", {}, value));
  return h(
    "dl",
    { class: "sums" },
    row(opts.subtotalLabel, money(sums.subtotal, currency), { "data-testid": `${opts.testid}-subtotal` }),
    sums.discounts.map((d) =>
      row(`Discount ${discountName(d)}`, minus(d.amount, currency), {
        class: "discount",
        "data-testid": `${opts.testid}-discount`,
      }),
    ),
    row("Total", money(sums.total, currency), { class: "total", "data-testid": `${opts.testid}-total` }),
  );
}
