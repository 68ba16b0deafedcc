/**
 * The flash buy-now flow, top to bottom: the redemptions of the limited
 * promotions that apply (if any), then the buyer's home stripe, which reserves
 * and writes the PENDING order in one transaction (sku/flash.ts).
 */
import { promotionCache, promotionCatalog } from "../cache/promotions";
import { unknownCode } from "../domain/cart-refusals";
import type { Outcome } from "../domain/errors";
import { refuse } from "../domain/errors";
import type { Promotion } from "../domain/promotions";
import { appliesToSku, isLimited } from "../domain/promotions";
import { flashOrderId } from "../domain/order-ids";
import type { FlashBuyRequest, PlacedFlash } from "../domain/sku-contract";
import { homeStripe } from "../domain/stripes";
import { releaseRedemptions, reserveRedemptions } from "./promotions/redemptions";
import { atHome } from "./sku-routing";

/**
 * Places a flash buy-now at the buyer's home stripe: the only actor the burst
 * touches. With promotions to redeem (limited ones that apply), a redemption
 * of each is reserved first under the order's id (which names the home
 * stripe), then the stripe places the order with them; whatever the order does
 * not keep (a refusal, a promotion that does not apply at the stripe's price)
 * is released. A refused code refuses the buy; a refused automatic promotion
 * just does not apply.
 */
export function flashBuyAtHome(
  env: Env,
  skuId: string,
  req: Omit<FlashBuyRequest, "stripes" | "redemptions">,
  redeem: Promotion[] = [],
): Promise<PlacedFlash> {
  return atHome<PlacedFlash>(env, skuId, req.ownerId, async (stripe, stripes) => {
    if (redeem.length === 0) return stripe.flashBuy({ ...req, stripes });
    const orderId = flashOrderId(req.keyHash, homeStripe(req.ownerId, stripes), skuId);
    const reserved = await reserveRedemptions(env, redeem, {
      reservationId: orderId,
      orderId,
      ownerId: req.ownerId,
      expiresAt: Date.now() + req.ttlMs,
    });
    if (!reserved.ok) return reserved;
    const promotions = (req.promotions ?? []).filter((p) => !reserved.dropped.includes(p.promotionId));
    let outcome: PlacedFlash;
    try {
      outcome = await stripe.flashBuy({ ...req, promotions, stripes, redemptions: reserved.granted });
    } catch (err) {
      await releaseRedemptions(env, reserved.granted, "flash_failed");
      throw err;
    }
    const kept = outcome.ok ? (outcome.order.redemptions ?? []) : [];
    await releaseRedemptions(
      env,
      reserved.granted.filter((r) => !kept.some((k) => k.promotionId === r.promotionId)),
      "flash_refused",
    );
    return outcome;
  });
}

/**
 * The promotions a flash buy of `skuId` carries: the active ones (this
 * isolate's copy, refreshed in the background) and the buyer's code, which
 * must exist and be active. The limited ones that could apply to this SKU are
 * to be redeemed; the stripe judges the rest at its price.
 */
export async function flashPromotions(
  env: Env,
  skuId: string,
  code: string | null,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<Outcome<{ promotions: Promotion[]; redeem: Promotion[] }>> {
  const active = await promotionCache.active(env);
  if (active.refresh) waitUntil(promotionCache.refresh(env));
  const promotions = active.promotions;
  if (code !== null && !promotions.some((p) => p.code === code)) {
    const known = await promotionCatalog(env).byCode(code);
    return known
      ? refuse("PROMOTION_EXPIRED", "the promotion is no longer active", [
          { code: "PROMOTION_EXPIRED", promotionCode: code },
        ])
      : unknownCode(code);
  }
  const redeem = promotions.filter((p) => isLimited(p) && (p.code === null ? appliesToSku(p, skuId) : p.code === code));
  return { ok: true, promotions, redeem };
}
