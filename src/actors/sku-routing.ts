import { refuse } from "../domain/errors";
import { homeStripe, stripeName } from "../domain/stripes";
import type { ReserveOutcome, ReserveRequest } from "./sku-actor";

/**
 * Stripe counts this isolate has learned. A SKU starts at 1 (no extra hop for
 * the common unstriped SKU); a striped SKU answers STALE_ROUTE with its count
 * once, and from then on buyers go straight to their home stripe.
 */
const knownStripes = new Map<string, number>();

/** Reserves at the buyer's home stripe of the SKU (its own actor when the SKU is not striped). */
export async function reserveAtHome(env: Env, skuId: string, req: Omit<ReserveRequest, "stripes">): Promise<ReserveOutcome> {
  let stripes = knownStripes.get(skuId) ?? 1;
  for (let attempt = 0; attempt < 3; attempt++) {
    const holder = stripeName(skuId, homeStripe(req.ownerId, stripes));
    const outcome = await env.SKUS.getByName(holder).reserve({ ...req, stripes });
    if (outcome.ok || outcome.code !== "STALE_ROUTE") return outcome;
    stripes = Number(outcome.errors?.[0]?.stripes ?? 1);
    knownStripes.set(skuId, stripes);
  }
  return refuse("DEPENDENCY_UNAVAILABLE", `SKU ${skuId} is being re-striped; retry shortly`);
}
