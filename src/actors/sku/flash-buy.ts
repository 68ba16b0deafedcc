/**
 * The flash buy-now flow, top to bottom: the redemptions of the limited
 * promotions that apply (if any), then the buyer's home stripe, which reserves
 * and writes the PENDING order in one transaction (sku/flash.ts).
 */
import { promotionCache, promotionCatalog } from "../../cache/promotions";
import { unknownCode } from "../../domain/cart-refusals";
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Redemption } from "../../domain/order";
import type { Promotion } from "../../domain/promotions";
import { appliesToSku, isLimited } from "../../domain/promotions";
import { flashOrderId } from "../../domain/order-ids";
import type { FlashBuyRequest, PlacedFlash } from "../../domain/sku-contract";
import { homeStripe } from "../../domain/stripes";
import { releaseRedemptions, reserveRedemptions } from "../promotions/redemptions";
import { atHome, learnStripes } from "./sku-routing";

/**
 * Places a flash buy-now at the buyer's home stripe: the only actor the burst
 * touches. With promotions to redeem (limited ones that apply), a redemption
 * of each is reserved first under the order's id (which names the home
 * stripe), then the stripe places the order with them; whatever the order does
 * not keep (a refusal, a promotion that does not apply at the stripe's price)
 * is released. A refused code refuses the buy; a refused automatic promotion
 * just does not apply.
 */
export async function flashBuyAtHome(
  env: Env,
  skuId: string,
  req: Omit<FlashBuyRequest, "stripes" | "redemptions">,
  redeem: Promotion[] = [],
): Promise<PlacedFlash> {
  if (redeem.length === 0)
    return atHome<PlacedFlash>(env, skuId, req.ownerId, (stripe, stripes) => stripe.flashBuy({ ...req, stripes }));
  // The redemptions are reserved under the order's id, which names the buyer's home stripe: with
  // the stripe count guessed, a retry of a buy cut off after its reservation (a crash) would reserve
  // under another id and be refused by the per-customer limit its own first attempt holds.
  await learnStripes(env, skuId, req.ownerId);
  // By order id: a re-route to another stripe (a stale stripe count) is another order id.
  const reserved = new Map<string, { granted: Redemption[]; dropped: string[] }>();
  const all = () => [...reserved.values()].flatMap((r) => r.granted);
  let outcome: PlacedFlash;
  try {
    outcome = await atHome<PlacedFlash>(env, skuId, req.ownerId, async (stripe, stripes) => {
      const orderId = flashOrderId(req.keyHash, homeStripe(req.ownerId, stripes), skuId);
      let mine = reserved.get(orderId);
      if (!mine) {
        // Routed elsewhere before: those redemptions were for an order that will not exist.
        await releaseRedemptions(env, all(), "flash_rerouted");
        reserved.clear();
        const got = await reserveRedemptions(env, redeem, {
          reservationId: orderId,
          orderId,
          ownerId: req.ownerId,
          expiresAt: Date.now() + req.ttlMs,
        });
        if (!got.ok) return got;
        mine = { granted: got.granted, dropped: got.dropped };
        reserved.set(orderId, mine);
      }
      const promotions = (req.promotions ?? []).filter((p) => !mine.dropped.includes(p.promotionId));
      return stripe.flashBuy({ ...req, promotions, stripes, redemptions: mine.granted });
    });
  } catch (err) {
    await releaseRedemptions(env, all(), "flash_failed");
    throw err;
  }
  const kept = outcome.ok ? (outcome.order.redemptions ?? []) : [];
  await releaseRedemptions(
    env,
    all().filter((r) => !kept.some((k) => k.promotionId === r.promotionId && k.reservationId === r.reservationId)),
    "flash_refused",
  );
  return outcome;
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
  let promotions = active.promotions;
  if (code !== null && !promotions.some((p) => p.code === code)) {
    // Not in this isolate's copy: unknown, deactivated, or newer than the copy.
    const known = await promotionCatalog(env).byCode(code);
    if (!known) return unknownCode(code);
    if (!known.active)
      return refuse("PROMOTION_EXPIRED", "the promotion is no longer active", [
        { code: "PROMOTION_EXPIRED", promotionCode: code },
      ]);
    await promotionCache.include(env, known);
    promotions = [...promotions.filter((p) => p.promotionId !== known.promotionId), known];
  }
  const redeem = promotions.filter((p) => isLimited(p) && (p.code === null ? appliesToSku(p, skuId) : p.code === code));
  return { ok: true, promotions, redeem };
}
