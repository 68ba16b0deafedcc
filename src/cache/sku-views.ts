/**
 * SKU public views in Redis and in this isolate's memory: what the storefront
 * and the cart's price markers read without asking the SKU actors.
 */
import type { CartState, CartView } from "../domain/cart";
import { presentCart } from "../domain/cart";
import type { SkuPublicView } from "../domain/catalog";
import { promotionCache } from "./promotions";
import type { VersionedValue } from "./redis";
import { readVersioned, redisClient, RedisUnavailableError } from "./redis";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

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
      if (!(err instanceof RedisUnavailableError))
        log.warn("sku views: Redis unavailable, asking the SKU actors", { error: errorText(err) });
    }
  }
  const missing = unique.filter((id) => !views.has(id));
  const fetched = await Promise.all(missing.map((id) => env.SKUS.getByName(id).publicView()));
  missing.forEach((id, i) => views.set(id, fetched[i] ?? null));
  return views;
}

/** A cart with its price markers, availability flags and discounts from the SKUs' and promotions' current state. */
export async function renderCart(env: Env, state: CartState): Promise<CartView> {
  const [views, promotions] = await Promise.all([
    loadSkuViews(
      env,
      state.lines.map((l) => l.skuId),
    ),
    promotionCache.active(env),
  ]);
  return presentCart(state, views, promotions.promotions);
}

/** A view younger than this is used as it is. */
export const SKU_VIEW_FRESH_MS = 1_000;
/** An older one (up to this age) is still shown while a refresh runs in the background; past it a read waits for the refresh. */
export const SKU_VIEW_MAX_STALE_MS = 60_000;
/** One refresher per SKU at a time: others keep showing the view they have. */
const REFRESH_CLAIM_MS = 2_000;
const MAX_CACHED_SKUS = 10_000;

interface CachedView {
  view: SkuPublicView | null;
  at: number;
  refreshingUntil: number;
}

/**
 * The SKU views one isolate has seen, shared by every cart actor (and the
 * Worker) running in it, so rendering a cart costs no round trip: a view
 * younger than a second is used as it is; an older one is shown while one
 * caller refreshes it in the background (stale-while-revalidate); only a SKU
 * never seen (or not seen for a minute) is waited for. Price markers and
 * stock flags on a cart may thus trail the SKU by about a second; the
 * authoritative checks happen at checkout. Holds plain data only: a promise
 * made for one request or actor is never handed to another.
 */
export class SkuViewCache {
  private readonly entries = new Map<string, CachedView>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** A view younger than `maxAgeMs`, or undefined. */
  fresh(skuId: string, maxAgeMs = SKU_VIEW_FRESH_MS): SkuPublicView | null | undefined {
    const entry = this.entries.get(skuId);
    return entry && this.clock() - entry.at < maxAgeMs ? entry.view : undefined;
  }

  put(skuId: string, view: SkuPublicView | null, at = this.clock()): void {
    const entry = this.entries.get(skuId);
    // A view only replaces an older version of itself (two refreshes may finish out of order).
    if (entry?.view && view && view.version < entry.view.version) {
      entry.at = Math.max(entry.at, at);
      return;
    }
    if (!entry && this.entries.size >= MAX_CACHED_SKUS) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(skuId, { view, at, refreshingUntil: 0 });
  }

  /**
   * The views for `skuIds`: waits only for the ones missing or too old; the
   * stale ones it claims are returned in `refresh`, which the caller runs
   * after answering (`refreshSkuViews`).
   */
  async views(
    env: Env,
    skuIds: readonly string[],
  ): Promise<{ views: Map<string, SkuPublicView | null>; refresh: string[] }> {
    const now = this.clock();
    const views = new Map<string, SkuPublicView | null>();
    const missing: string[] = [];
    const refresh: string[] = [];
    for (const skuId of skuIds) {
      const entry = this.entries.get(skuId);
      const age = entry ? now - entry.at : Infinity;
      if (!entry || age >= SKU_VIEW_MAX_STALE_MS) {
        missing.push(skuId);
        continue;
      }
      views.set(skuId, entry.view);
      if (age >= SKU_VIEW_FRESH_MS && entry.refreshingUntil <= now) {
        entry.refreshingUntil = now + REFRESH_CLAIM_MS;
        refresh.push(skuId);
      }
    }
    if (missing.length > 0) {
      const loaded = await loadSkuViews(env, missing);
      const at = this.clock();
      for (const [skuId, view] of loaded) {
        this.put(skuId, view, at);
        views.set(skuId, view);
      }
    }
    return { views, refresh };
  }

  /** Reloads the claimed views (one Redis round trip, SKU actors for what Redis lacks). */
  async refresh(env: Env, skuIds: readonly string[]): Promise<void> {
    if (skuIds.length === 0) return;
    try {
      const loaded = await loadSkuViews(env, skuIds);
      const at = this.clock();
      for (const [skuId, view] of loaded) this.put(skuId, view, at);
    } catch (err) {
      for (const skuId of skuIds) {
        const entry = this.entries.get(skuId);
        if (entry) entry.refreshingUntil = 0;
      }
      log.warn("sku views: background refresh failed", { error: errorText(err) });
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The isolate's cache (module state: shared by the cart actors and requests of this isolate). */
export const skuViewCache = new SkuViewCache();
