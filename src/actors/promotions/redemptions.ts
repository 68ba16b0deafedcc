/**
 * An order's redemptions of limited promotions: reserved at the buyer's home
 * stripe of each promotion's budget ledger (promotions/budget.ts), under the
 * order's reservation id, and given back when the order does not keep them.
 */
import { promotionRefusal } from "../../domain/cart-refusals";
import type { Outcome, Refusal } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Redemption } from "../../domain/order";
import type { Promotion } from "../../domain/promotions";
import { budgetLedgerId, redemptionRefused } from "../../domain/promotions";
import { reserveAtHome } from "../sku/sku-routing";
import { log } from "../../log/logger";
import { errorText } from "../../log/redact";

/**
 * Reserves one redemption of each promotion for an order, at the buyer's home
 * stripe of each budget ledger. A code's refusal refuses the whole (the ones
 * granted are released); an automatic promotion's refusal only drops it.
 */
export async function reserveRedemptions(
  env: Env,
  promotions: readonly Promotion[],
  req: { reservationId: string; orderId: string; ownerId: string; expiresAt: number },
): Promise<Outcome<{ granted: Redemption[]; dropped: string[] }>> {
  const results = await Promise.all(
    promotions.map((p) =>
      reserveAtHome(env, budgetLedgerId(p.promotionId), { ...req, quantity: 1 }).catch(
        (err: unknown): Refusal =>
          refuse("DEPENDENCY_UNAVAILABLE", `the promotion's budget did not answer: ${String(err)}`),
      ),
    ),
  );
  const granted: Redemption[] = [];
  const dropped: string[] = [];
  let refusal: Refusal | null = null;
  results.forEach((r, i) => {
    const p = promotions[i]!;
    if (r.ok) granted.push({ promotionId: p.promotionId, holder: r.holder, reservationId: req.reservationId });
    else if (p.code === null) dropped.push(p.promotionId);
    else refusal ??= redemptionRefusal(r, p);
  });
  if (refusal) {
    await releaseRedemptions(env, granted, "promotion_refused");
    return refusal;
  }
  return { ok: true, granted, dropped };
}

/** A ledger's refusal as the promotion's own (EXHAUSTED, LIMIT_PER_CUSTOMER, ...). */
export function redemptionRefusal(ledger: Refusal, promotion: Promotion): Refusal {
  const unmet = redemptionRefused(ledger, promotion);
  return unmet ? promotionRefusal(unmet, promotion.code ?? promotion.promotionId) : ledger;
}

/** Gives redemptions back (best effort: one that stays held is released by its ledger's sweep after expiry). */
export async function releaseRedemptions(env: Env, redemptions: readonly Redemption[], reason: string): Promise<void> {
  await Promise.all(
    redemptions.map((r) =>
      env.SKUS.getByName(r.holder)
        .release(r.reservationId, reason)
        .catch((err: unknown) =>
          log.warn("redemption not released now", {
            reservationId: r.reservationId,
            holder: r.holder,
            error: errorText(err),
          }),
        ),
    ),
  );
}
