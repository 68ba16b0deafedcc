/**
 * Calling a SKU at the buyer's home stripe: the stripe count is learned once
 * per isolate and calls re-route on STALE_ROUTE.
 */
import type { Outcome, Refusal } from "../../domain/errors";
import type { ReserveOutcome, ReserveRequest } from "../../domain/sku-contract";
import { restriping } from "../../domain/sku-refusals";
import { homeStripe, stripeName } from "../../domain/stripes";

/**
 * Stripe counts this isolate has learned. A SKU starts at 1 (no extra hop for
 * the common unstriped SKU); a striped SKU answers STALE_ROUTE with its count
 * once, and from then on buyers go straight to their home stripe.
 */
const knownStripes = new Map<string, number>();

type Stripe = ReturnType<Env["SKUS"]["getByName"]>;

/** Calls the buyer's home stripe of a SKU (its own actor when the SKU is not striped), re-routing once the stripe count is learned. */
export async function atHome<T extends { ok: boolean }>(
  env: Env,
  skuId: string,
  ownerId: string,
  call: (stripe: Stripe, stripes: number) => Promise<T>,
): Promise<T | Refusal> {
  let stripes = knownStripes.get(skuId) ?? 1;
  for (let attempt = 0; attempt < 3; attempt++) {
    const outcome = await call(env.SKUS.getByName(stripeName(skuId, homeStripe(ownerId, stripes))), stripes);
    const refusal = outcome as T & Partial<Refusal>;
    if (outcome.ok || refusal.code !== "STALE_ROUTE") return outcome;
    stripes = Number(refusal.errors?.[0]?.stripes ?? 1);
    knownStripes.set(skuId, stripes);
  }
  return restriping(skuId);
}

/**
 * Learns a SKU's stripe count (one call, once per isolate) before a caller derives an id from
 * the buyer's home stripe: a flash order's id names it, so a guess of 1 would be another order.
 */
export async function learnStripes(env: Env, skuId: string, ownerId: string): Promise<void> {
  if (knownStripes.has(skuId)) return;
  const outcome = await atHome<Outcome<{ stripes: number }>>(env, skuId, ownerId, async (stripe, stripes) => {
    const answer = await stripe.route(ownerId, stripes);
    return answer.ok ? { ok: true, stripes: answer.stripes } : answer;
  });
  if (outcome.ok) knownStripes.set(skuId, outcome.stripes);
}

/** Reserves at the buyer's home stripe (checkout). */
export function reserveAtHome(env: Env, skuId: string, req: Omit<ReserveRequest, "stripes">): Promise<ReserveOutcome> {
  return atHome<ReserveOutcome>(env, skuId, req.ownerId, (stripe, stripes) => stripe.reserve({ ...req, stripes }));
}
