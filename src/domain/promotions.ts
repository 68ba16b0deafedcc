/**
 * Promotion rules without I/O (docs/API.md, Promotions): whether a promotion
 * applies to a cart or an order now, and the discount it gives each line.
 *
 * Money stays in integer minor units, and one rounding rule holds everywhere:
 * - percent: each line's discount is its total times the percentage, rounded
 *   down to the minor unit (exact: computed in BigInt);
 * - fixed: the amount, capped at the matching lines' subtotal, is split over
 *   those lines in proportion to their totals, rounded down, the minor units
 *   left over going one each to the lines with the largest remainders (the
 *   earlier line first on a tie), so the parts add up to the amount exactly;
 * - buy X get Y: for every X + Y matching units, the Y cheapest are free (a
 *   tie in price: the earlier line's units first).
 * Promotions apply in a fixed order (the automatic ones by id, then the code),
 * each computed on the undiscounted lines; a line's discounts together never
 * exceed its total, so no total goes below zero.
 */
import type { z } from "zod";
import type { DiscountSchema, LineDiscountSchema, PromotionSchema } from "../contracts/promotion";
import { lineAmount, sumAmounts } from "./money";

export type Promotion = z.infer<typeof PromotionSchema>;

/** The active promotions at one catalog version: what the catalog actor answers and each isolate keeps a copy of. */
export interface ActivePromotions {
  version: number;
  promotions: Promotion[];
}
export type LineDiscount = z.infer<typeof LineDiscountSchema>;
export type Discount = z.infer<typeof DiscountSchema>;

/** A line a promotion may discount: a selected, available cart line, or an order line, priced now. */
export interface PricedLine {
  skuId: string;
  merchantId: string;
  unitPrice: number;
  quantity: number;
}

/**
 * Why a promotion does not apply: the code the API answers, the unmet
 * condition, and the promotion's own terms that condition names (its minimum
 * and currency, its start), so a client can say it in words without parsing
 * `detail`.
 */
export interface Unmet {
  code: "PROMOTION_EXPIRED" | "PROMOTION_NOT_APPLICABLE" | "PROMOTION_EXHAUSTED" | "PROMOTION_LIMIT_PER_CUSTOMER";
  condition?: "starts_at" | "currency" | "matching_lines" | "min_subtotal" | "buy_x" | "sign_in";
  detail: string;
  minSubtotal?: number;
  currency?: string;
  startsAt?: string;
}

/**
 * A limited promotion's budget is kept by a stock ledger (docs/decisions.md 16):
 * the same actor as a SKU's stock, named `promotion:{id}`, one unit per
 * redemption. ":" never appears in a SKU id, so the names never meet.
 */
export function budgetLedgerId(promotionId: string): string {
  return `promotion:${promotionId}`;
}

export function isBudgetLedger(skuId: string): boolean {
  return skuId.startsWith("promotion:");
}

/** The budget of a promotion limited per customer only: large enough never to run out. */
export const UNLIMITED_BUDGET = 1_000_000_000;

/** Codes are case-insensitive: stored and compared upper-cased. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

/** A promotion with a budget (total or per customer): only a signed-in customer may use it. */
export function isLimited(p: Pick<Promotion, "limit" | "limitPerCustomer">): boolean {
  return p.limit !== null || p.limitPerCustomer !== null;
}

function matches(p: Promotion, line: PricedLine): boolean {
  const to = p.appliesTo;
  if (!to || (to.skuIds === null && to.merchantIds === null)) return true;
  return (to.skuIds?.includes(line.skuId) ?? false) || (to.merchantIds?.includes(line.merchantId) ?? false);
}

/** Whether the promotion may apply to a SKU at all (its merchant unknown: any merchant-scoped one may). */
export function appliesToSku(p: Promotion, skuId: string): boolean {
  const to = p.appliesTo;
  return !to || to.merchantIds !== null || to.skuIds === null || to.skuIds.includes(skuId);
}

/**
 * Whether the promotion applies to these lines at `now` (its budget aside):
 * active and within its dates, in the lines' currency, with matching lines,
 * the minimum subtotal (of all the lines) reached, and enough units for a
 * buy X get Y.
 */
export function checkPromotion(
  p: Promotion,
  lines: readonly PricedLine[],
  currency: string | null,
  now: number,
): Unmet | null {
  if (!p.active) return { code: "PROMOTION_EXPIRED", detail: "the promotion is no longer active" };
  if (p.endsAt !== null && Date.parse(p.endsAt) <= now)
    return { code: "PROMOTION_EXPIRED", detail: `the promotion ended at ${p.endsAt}` };
  if (p.startsAt !== null && Date.parse(p.startsAt) > now)
    return notApplicable("starts_at", `the promotion starts at ${p.startsAt}`, { startsAt: p.startsAt });
  if (p.currency !== null && currency !== null && p.currency !== currency)
    return notApplicable("currency", `the promotion is in ${p.currency}, the cart in ${currency}`, {
      currency: p.currency,
    });
  const matching = lines.filter((line) => matches(p, line));
  if (matching.length === 0) return notApplicable("matching_lines", "no line the promotion applies to");
  const subtotal = subtotalOf(lines);
  if (p.minSubtotal !== null && subtotal < p.minSubtotal)
    return notApplicable("min_subtotal", `the subtotal ${subtotal} is below the minimum ${p.minSubtotal}`, {
      minSubtotal: p.minSubtotal,
      ...(p.currency !== null ? { currency: p.currency } : {}),
    });
  if (p.kind === "buy_x_get_y") {
    const units = matching.reduce((n, line) => n + line.quantity, 0);
    const group = p.value + (p.get ?? 1);
    if (units < group) return notApplicable("buy_x", `buy ${group} matching units to get ${p.get ?? 1} free`);
  }
  return null;
}

/**
 * Whether the budget allows one more redemption: a limited promotion needs a
 * signed-in customer; `remaining` (null = unlimited) and the customer's own
 * redemptions so far are checked against the limits.
 */
export function checkBudget(
  p: Promotion,
  budget: { guest: boolean; remaining: number | null; customerRedemptions: number },
): Unmet | null {
  if (isLimited(p) && budget.guest) return notApplicable("sign_in", "sign in to use this code (it is limited)");
  if (budget.remaining !== null && budget.remaining <= 0)
    return { code: "PROMOTION_EXHAUSTED", detail: "the promotion has been used up" };
  if (p.limitPerCustomer !== null && budget.customerRedemptions >= p.limitPerCustomer)
    return {
      code: "PROMOTION_LIMIT_PER_CUSTOMER",
      detail: `the promotion can be used ${p.limitPerCustomer} time(s) per customer`,
    };
  return null;
}

function notApplicable(
  condition: NonNullable<Unmet["condition"]>,
  detail: string,
  terms: Pick<Unmet, "minSubtotal" | "currency" | "startsAt"> = {},
): Unmet {
  return { code: "PROMOTION_NOT_APPLICABLE", condition, detail, ...terms };
}

export function subtotalOf(lines: readonly PricedLine[]): number {
  return sumAmounts(lines.map((line) => lineAmount(line.unitPrice, line.quantity)));
}

/** The discount one promotion gives each line (index-aligned), before capping against other promotions. */
export function lineDiscounts(p: Promotion, lines: readonly PricedLine[]): number[] {
  const totals = lines.map((line) => (matches(p, line) ? lineAmount(line.unitPrice, line.quantity) : 0));
  switch (p.kind) {
    case "percent":
      return totals.map((total) => Number((BigInt(total) * BigInt(p.value)) / 100n));
    case "fixed":
      return splitProportionally(Math.min(p.value, sumAmounts(totals)), totals);
    case "buy_x_get_y":
      return cheapestFree(p.value, p.get ?? 1, lines, totals);
  }
}

/** `amount` over lines in proportion to `weights` (largest remainder, earlier line first on a tie). */
function splitProportionally(amount: number, weights: number[]): number[] {
  const whole = BigInt(sumAmounts(weights));
  if (whole === 0n) return weights.map(() => 0);
  const parts = weights.map((w) => (BigInt(amount) * BigInt(w)) / whole);
  const remainders = weights.map((w, i) => ({ i, r: (BigInt(amount) * BigInt(w)) % whole }));
  let left = BigInt(amount) - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts.map(Number);
}

/** For every buy + get matching units, the `get` cheapest are free; ties in price go to the earlier line. */
function cheapestFree(buy: number, get: number, lines: readonly PricedLine[], totals: number[]): number[] {
  const matching = lines.map((line, i) => ({ line, i })).filter(({ i }) => totals[i]! > 0);
  const units = matching.reduce((n, { line }) => n + line.quantity, 0);
  let free = Math.floor(units / (buy + get)) * get;
  const discounts = lines.map(() => 0);
  const cheapestFirst = [...matching].sort((a, b) => a.line.unitPrice - b.line.unitPrice || a.i - b.i);
  for (const { line, i } of cheapestFirst) {
    if (free === 0) break;
    const take = Math.min(free, line.quantity);
    discounts[i] = lineAmount(line.unitPrice, take);
    free -= take;
  }
  return discounts;
}

export interface PricedWithPromotions {
  subtotal: number;
  /** Per line (index-aligned with the lines): each promotion's discount on it. */
  lines: LineDiscount[][];
  /** Per promotion that gave a discount, in the order applied. */
  discounts: Discount[];
  total: number;
}

/**
 * The lines priced with the promotions that apply (already checked), in the
 * order given: each computed on the undiscounted lines, and capped so that a
 * line's discounts never exceed its total.
 */
export function applyPromotions(lines: readonly PricedLine[], promotions: readonly Promotion[]): PricedWithPromotions {
  const totals = lines.map((line) => lineAmount(line.unitPrice, line.quantity));
  const left = [...totals];
  const perLine: LineDiscount[][] = lines.map(() => []);
  const discounts: Discount[] = [];
  for (const p of promotions) {
    const wanted = lineDiscounts(p, lines);
    let sum = 0;
    wanted.forEach((amount, i) => {
      const taken = Math.min(amount, left[i]!);
      if (taken <= 0) return;
      left[i]! -= taken;
      sum += taken;
      perLine[i]!.push({ promotionId: p.promotionId, code: p.code, amount: taken });
    });
    if (sum > 0) discounts.push({ promotionId: p.promotionId, code: p.code, kind: p.kind, amount: sum });
  }
  const subtotal = sumAmounts(totals);
  return { subtotal, lines: perLine, discounts, total: sumAmounts(left) };
}

/** The order promotions apply in: the automatic ones by id, then the code (at most one). */
export function applicationOrder(automatic: readonly Promotion[], code: Promotion | null): Promotion[] {
  const auto = [...automatic].sort((a, b) => (a.promotionId < b.promotionId ? -1 : 1));
  return code ? [...auto, code] : auto;
}

/** A cart's or order's code and whether it gives a discount now (and why not). */
export interface CodeStatus {
  code: string;
  promotionId: string | null;
  applied: boolean;
  reason: Unmet | null;
}

/**
 * Which of the active promotions apply to these lines now: the automatic ones
 * whose conditions hold (a limited one only for a signed-in customer), and the
 * code when it applies; with how the code stands. A code missing from the
 * active set was deactivated: expired. Budgets are not judged here (the cart
 * shows what applies; checkout reserves the redemptions).
 */
export function selectPromotions(input: {
  code: string | null;
  lines: readonly PricedLine[];
  currency: string | null;
  promotions: readonly Promotion[];
  guest: boolean;
  now: number;
}): { apply: Promotion[]; status: CodeStatus | null } {
  const { code, lines, currency, promotions, guest, now } = input;
  const automatic = promotions.filter(
    (p) => p.code === null && !(guest && isLimited(p)) && checkPromotion(p, lines, currency, now) === null,
  );
  if (code === null) return { apply: applicationOrder(automatic, null), status: null };
  const promotion = promotions.find((p) => p.code === code) ?? null;
  const unmet: Unmet | null = promotion
    ? (checkPromotion(promotion, lines, currency, now) ??
      (guest && isLimited(promotion)
        ? checkBudget(promotion, { guest, remaining: null, customerRedemptions: 0 })
        : null))
    : { code: "PROMOTION_EXPIRED", detail: "the code is no longer active" };
  return {
    apply: applicationOrder(automatic, unmet === null ? promotion : null),
    status: { code, promotionId: promotion?.promotionId ?? null, applied: unmet === null, reason: unmet },
  };
}

/** A budget ledger's refusal of a redemption, as the promotion's refusal (the ledger speaks in stock terms). */
export function redemptionRefused(ledger: { code: string; detail: string }, promotion: Promotion): Unmet | null {
  switch (ledger.code) {
    case "OUT_OF_STOCK":
    case "SOLD_OUT":
      return { code: "PROMOTION_EXHAUSTED", detail: "the promotion has been used up" };
    case "LIMIT_EXCEEDED":
      return {
        code: "PROMOTION_LIMIT_PER_CUSTOMER",
        detail: `the promotion can be used ${promotion.limitPerCustomer} time(s) per customer`,
      };
    case "SIGN_IN_REQUIRED":
      return {
        code: "PROMOTION_NOT_APPLICABLE",
        condition: "sign_in",
        detail: "sign in to use this code (it is limited)",
      };
    case "SKU_UNAVAILABLE":
      return { code: "PROMOTION_EXPIRED", detail: "the promotion is no longer active" };
    default:
      return null;
  }
}
