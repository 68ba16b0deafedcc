/**
 * Merge on login as a rule: what quantity each guest line asks for under the
 * chosen strategy, and what the user's cart can take of it (limits, stock,
 * currency and the line cap still apply; a merge never lowers a quantity).
 */
import type { CartLine } from "./cart";
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from "../contracts/limits";
import type { SkuQuote } from "./catalog";
import { saleNotStarted } from "./catalog";
import { remainingAllowance } from "./stock";

export type MergeStrategy = "sum" | "max" | "overwrite" | "keep";

/** The quantity a merge wants for a SKU before limits and stock are applied. */
export function mergedQuantity(strategy: MergeStrategy, userQuantity: number, guestQuantity: number): number {
  switch (strategy) {
    case "sum":
      return userQuantity + guestQuantity;
    case "max":
      return Math.max(userQuantity, guestQuantity);
    case "overwrite":
      return guestQuantity;
    case "keep":
      return userQuantity;
  }
}

export interface MergeDecision {
  skuId: string;
  /** Final quantity of the user's line; 0 = the guest line is not taken. */
  quantity: number;
  /** Set when the line was not taken as the strategy asked. */
  clamp?: { requested: number; applied: number; code: string };
}

/**
 * Plans folding guest lines into the user's cart. The rules of an add still
 * apply (for sale, sale started, currency, limits, stock); a merge never lowers
 * a quantity the user already had, and keeps the 200-line cap (lines beyond it
 * are reported, not taken).
 */
export function planMerge(
  strategy: MergeStrategy,
  userLines: readonly CartLine[],
  guestLines: readonly CartLine[],
  skus: ReadonlyMap<string, SkuQuote | null>,
  userCurrency: string | null,
  /** Epoch ms, for a flash sale's opening. */
  now: number,
): MergeDecision[] {
  const userBySku = new Map(userLines.map((l) => [l.skuId, l]));
  let lineCount = userLines.length;
  let currency = userCurrency;
  const decisions: MergeDecision[] = [];
  for (const guest of guestLines) {
    const mine = userBySku.get(guest.skuId);
    const have = mine?.quantity ?? 0;
    const requested = Math.min(
      MAX_LINE_QUANTITY,
      mine ? mergedQuantity(strategy, have, guest.quantity) : guest.quantity,
    );
    if (requested <= have) {
      decisions.push({ skuId: guest.skuId, quantity: have });
      continue;
    }
    const sku = skus.get(guest.skuId) ?? null;
    let cap = requested;
    let code = "";
    if (!sku || sku.status !== "active") {
      cap = 0;
      code = "SKU_UNAVAILABLE";
    } else if (saleNotStarted(sku, now)) {
      cap = 0;
      code = "SALE_NOT_STARTED";
    } else if (currency !== null && sku.currency !== currency) {
      cap = 0;
      code = "CURRENCY_MISMATCH";
    } else if (!mine && lineCount >= MAX_CART_LINES) {
      cap = 0;
      code = "CART_TOO_LARGE";
    } else {
      const allowance = remainingAllowance(sku.purchaseLimit, sku.ownerUnits);
      if (allowance < cap) {
        cap = allowance;
        code = "LIMIT_EXCEEDED";
      }
      if (sku.available < cap) {
        cap = sku.available;
        code = "OUT_OF_STOCK";
      }
    }
    const applied = Math.max(have, cap);
    const decision: MergeDecision = { skuId: guest.skuId, quantity: applied };
    if (applied < requested) decision.clamp = { requested, applied, code };
    decisions.push(decision);
    if (!mine && applied > 0) {
      lineCount += 1;
      currency ??= sku?.currency ?? null;
    }
  }
  return decisions;
}
