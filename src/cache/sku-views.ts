import type { CartState, CartView } from "../domain/cart";
import { presentCart } from "../domain/cart";
import type { SkuPublicView } from "../domain/catalog";
import type { VersionedValue } from "./redis";
import { readVersioned, redisClient, RedisUnavailableError } from "./redis";

export const skuViewKey = (skuId: string) => `sku:${skuId}`;

export function skuViewValue(view: SkuPublicView): VersionedValue {
  return { key: skuViewKey(view.skuId), version: view.version, data: JSON.stringify(view), ttlSeconds: 0 };
}

/**
 * The current public view of several SKUs, for price markers and
 * availability flags on cart lines. One Redis round trip for all of them
 * (SKU actors publish their view there after each change); whatever Redis
 * does not have, or everything when Redis is off or slow, comes from the SKU
 * actors in parallel. A SKU that does not exist maps to null.
 */
export async function loadSkuViews(env: Env, skuIds: readonly string[]): Promise<Map<string, SkuPublicView | null>> {
  const unique = [...new Set(skuIds)];
  const views = new Map<string, SkuPublicView | null>();
  const redis = redisClient(env);
  if (redis && unique.length > 0) {
    try {
      const stored = await readVersioned(redis, unique.map(skuViewKey));
      for (const skuId of unique) {
        const hit = stored.get(skuViewKey(skuId));
        if (hit) views.set(skuId, JSON.parse(hit.data) as SkuPublicView);
      }
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) console.warn("sku views: Redis unavailable, asking the SKU actors", err instanceof Error ? err.message : err);
    }
  }
  const missing = unique.filter((id) => !views.has(id));
  const fetched = await Promise.all(missing.map((id) => env.SKUS.getByName(id).publicView()));
  missing.forEach((id, i) => views.set(id, fetched[i] ?? null));
  return views;
}

/** A cart with its price markers and availability flags from the SKUs' current state. */
export async function renderCart(env: Env, state: CartState): Promise<CartView> {
  return presentCart(state, await loadSkuViews(env, state.lines.map((l) => l.skuId)));
}
