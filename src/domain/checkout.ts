/**
 * The rules of a checkout, as plain functions: what the quotes already refuse
 * (before any stock is taken), and whether the reserved lines make an order
 * (one currency, the total the buyer saw). The order actor runs the sequence;
 * the judgement is here.
 */
import type { SkuQuote } from "./catalog";
import type { Outcome, ProblemCode, ProblemItem, Refusal } from "./errors";
import { refuse } from "./errors";
import { promotionRefusal } from "./cart-refusals";
import type { Order, OrderItem } from "./order";
import { orderLine } from "./order";
import type { PricedLine, Promotion } from "./promotions";
import { applyPromotions, selectPromotions } from "./promotions";
import type { ReservedItem } from "./sku-contract";

/** What a checkout asks the order actor (its name is derived from the buyer and the Idempotency-Key). */
export interface CheckoutRequest {
  /** The cart (and buyer) checking out: `user:{id}` or `guest:{clientCartId}`. */
  ownerId: string;
  /** Hash of the request body; the same Idempotency-Key with another body is refused. */
  requestHash: string;
  skuIds: string[] | null;
  expectedTotal: number | null;
  ttlSeconds: number;
}

/** A line as the checkout takes it from the cart: the price and currency it was shown with. */
export interface CheckoutLine {
  skuId: string;
  merchantId: string;
  quantity: number;
  unitPrice: number;
  currency: string;
}

/**
 * Who checks out and with what promotions: the cart's code, the active
 * promotions (the automatic ones among them apply without a code) and the time.
 */
export interface CheckoutContext {
  guest: boolean;
  code?: string | null;
  promotions?: readonly Promotion[];
  now?: number;
}

/** What the reserved lines make: an order's items and the promotions that price them, or the refusal and the reason its reservations are released. */
export type ReservedAssessment =
  | { ok: true; items: OrderItem[]; currency: string; promotions: Promotion[] }
  | { ok: false; refusal: Refusal; releaseReason: "checkout_failed" | "price_changed" };

/** What the quotes say: a refusal, or the promotions expected to apply (the limited ones need a redemption). */
export type Precheck = Refusal | { ok: true; promotions: Promotion[] };

/** Several lines refused: the first line's code, every line's problem, and the cart left as it was. */
export function linesRefused(lineErrors: ProblemItem[]): Refusal {
  return refuse(
    lineErrors[0]!.code as ProblemCode,
    "some lines cannot be checked out; nothing was reserved and the cart is unchanged",
    lineErrors,
  );
}

export function currencyMismatch(): Refusal {
  return refuse("CURRENCY_MISMATCH", "the lines are priced in different currencies");
}

/**
 * A SKU now priced in another currency than the cart showed it in: the same number is another
 * price, so the buyer must see it again (whether or not an expectedTotal was sent).
 */
export function currencyChanged(changed: { skuId: string; was: string; now: string }[]): Refusal {
  return refuse(
    "PRICE_CHANGED",
    "some lines are now priced in another currency; review the cart before checking out",
    changed.map((c) => ({ code: "PRICE_CHANGED", skuId: c.skuId, currency: c.now, shownCurrency: c.was })),
  );
}

function changedCurrencies(lines: CheckoutLine[], currencies: (string | undefined)[]) {
  return lines.flatMap((line, i) => {
    const now = currencies[i];
    return now !== undefined && now !== line.currency ? [{ skuId: line.skuId, was: line.currency, now }] : [];
  });
}

export function priceChanged(expectedTotal: number, total: number, currency: string): Refusal {
  return refuse("PRICE_CHANGED", `the total is now ${total} ${currency}, not ${expectedTotal}`, [
    { code: "PRICE_CHANGED", expectedTotal, total },
  ]);
}

export function idempotencyKeyReused(): Refusal {
  return refuse("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request body");
}

/**
 * The refusals a checkout can know from quotes alone: a line not for sale, a
 * limited line for a guest, a line over the buyer's limit, a line now priced in
 * another currency, mixed currencies, a total other than the buyer saw.
 * Stock is not judged here (a striped SKU's quote trails its stripes). A quote
 * that is null is a SKU that does not exist; undefined is one that could not
 * be asked (the reservation will tell).
 */
export function precheck(
  lines: CheckoutLine[],
  quotes: (SkuQuote | null | undefined)[],
  expectedTotal: number | null,
  context: CheckoutContext,
): Precheck {
  const { guest } = context;
  const lineErrors: ProblemItem[] = [];
  lines.forEach((line, i) => {
    const q = quotes[i];
    if (q === undefined) return;
    if (q === null || q.status !== "active") lineErrors.push({ code: "SKU_UNAVAILABLE", skuId: line.skuId });
    else if (q.purchaseLimit !== null && guest)
      lineErrors.push({ code: "SIGN_IN_REQUIRED", skuId: line.skuId, limit: q.purchaseLimit });
    else if (q.purchaseLimit !== null && q.ownerUnits + line.quantity > q.purchaseLimit) {
      lineErrors.push({
        code: "LIMIT_EXCEEDED",
        skuId: line.skuId,
        limit: q.purchaseLimit,
        alreadyPurchased: q.ownerUnits,
        requested: line.quantity,
      });
    }
  });
  if (lineErrors.length > 0) return linesRefused(lineErrors);
  const changed = changedCurrencies(
    lines,
    quotes.map((q) => q?.currency),
  );
  if (changed.length > 0) return currencyChanged(changed);
  // A line whose quote could not be asked is priced as the cart showed it, for the promotions' sake.
  const priced = lines.map((line, i) => ({ ...line, unitPrice: quotes[i]?.price ?? line.unitPrice }));
  const chosen = choosePromotions(priced, lines[0]!.currency, context, expectedTotal);
  if (!chosen.ok) return chosen;
  if (quotes.some((q) => !q)) return { ok: true, promotions: chosen.apply };
  const known = quotes as SkuQuote[];
  const currency = known[0]!.currency;
  if (known.some((q) => q.currency !== currency)) return currencyMismatch();
  const total = applyPromotions(priced, chosen.apply).total;
  if (expectedTotal !== null && expectedTotal !== total) return priceChanged(expectedTotal, total, currency);
  return { ok: true, promotions: chosen.apply };
}

/**
 * The promotions that apply to these lines now, or the refusal when the cart's
 * code does not: the code's own (expired, exhausted, ...), or PRICE_CHANGED
 * when the buyer sent the total they saw with its discount (a discount that
 * vanished is never a silent higher charge).
 */
function choosePromotions(
  lines: readonly PricedLine[],
  currency: string,
  context: CheckoutContext,
  expectedTotal: number | null,
): { ok: true; apply: Promotion[] } | Refusal {
  const { apply, status } = selectPromotions({
    code: context.code ?? null,
    lines,
    currency,
    promotions: context.promotions ?? [],
    guest: context.guest,
    now: context.now ?? Date.now(),
  });
  if (!status || status.applied) return { ok: true, apply };
  const refusal = promotionRefusal(status.reason!, status.code);
  const total = applyPromotions(lines, apply).total;
  if (expectedTotal === null || expectedTotal === total) return refusal;
  const changed = priceChanged(expectedTotal, total, currency);
  return { ...changed, errors: [...(changed.errors ?? []), ...(refusal.errors ?? [])] };
}

/**
 * The authoritative check once every line answered: any line refused, a line
 * now priced in another currency than the cart showed, mixed currencies, or a
 * total other than the buyer saw (a price can change between the quote and
 * the reservation) refuse the checkout.
 */
export function assessReserved(
  reserved: ReservedItem[],
  lineErrors: ProblemItem[],
  expectedTotal: number | null,
  lines: CheckoutLine[],
  context: CheckoutContext & {
    /** Limited promotions whose redemption was refused, with the refusal (the code's refuses the checkout; an automatic one just does not apply). */
    refusedRedemptions?: ReadonlyMap<string, Refusal>;
  } = { guest: false },
): ReservedAssessment {
  if (lineErrors.length > 0) return { ok: false, refusal: linesRefused(lineErrors), releaseReason: "checkout_failed" };
  const held = new Map(reserved.map((item) => [item.skuId, item.currency]));
  const changed = changedCurrencies(
    lines,
    lines.map((line) => held.get(line.skuId)),
  );
  if (changed.length > 0) return { ok: false, refusal: currencyChanged(changed), releaseReason: "price_changed" };
  const items = reserved.map(orderLine);
  const currency = reserved[0]!.currency;
  if (reserved.some((item) => item.currency !== currency))
    return { ok: false, refusal: currencyMismatch(), releaseReason: "checkout_failed" };
  const refused = context.refusedRedemptions ?? new Map<string, Refusal>();
  const chosen = choosePromotions(
    items,
    currency,
    {
      ...context,
      promotions: (context.promotions ?? []).filter((p) => p.code !== null || !refused.has(p.promotionId)),
    },
    expectedTotal,
  );
  if (!chosen.ok) return { ok: false, refusal: chosen, releaseReason: "price_changed" };
  const refusedCode = chosen.apply.find((p) => p.code !== null && refused.has(p.promotionId));
  if (refusedCode)
    return { ok: false, refusal: refused.get(refusedCode.promotionId)!, releaseReason: "checkout_failed" };
  const total = applyPromotions(items, chosen.apply).total;
  if (expectedTotal !== null && expectedTotal !== total)
    return { ok: false, refusal: priceChanged(expectedTotal, total, currency), releaseReason: "price_changed" };
  return { ok: true, items, currency, promotions: chosen.apply };
}

/** What an order says about one of its reservations when the SKU sweeps an overdue one. */
export type ReservationVerdict = { state: "paid" } | { state: "pending"; expiresAt: number } | { state: "closed" };

/** The verdict an order's status gives its reservation: keep it while the order may still be paid, commit it once paid, else release it. */
export function verdictOf(order: { status: string; expiresAt: string }): ReservationVerdict {
  if (order.status === "PENDING") return { state: "pending", expiresAt: Date.parse(order.expiresAt) };
  if (order.status === "PAID" || order.status === "REFUNDED") return { state: "paid" };
  return { state: "closed" };
}

/**
 * Where a checkout stands, for a cart whose lines it holds: its order exists
 * ("placed"), it is still reserving or will be cleaned up by its alarm
 * ("running"), or nothing of it is left ("gone": the hold is stale).
 */
export type CheckoutState = "placed" | "running" | "gone";

/** What placing an order answers: the order, and whether this call created it (false for a replay). */
export type PlacedOrder = Outcome<{ order: Order; created: boolean }>;
