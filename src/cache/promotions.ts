/**
 * The active promotions as carts see them: one copy per isolate, shared by
 * every cart actor and request running in it, so rendering a cart costs no
 * round trip. A copy younger than a second is used as it is; an older one is
 * shown while one caller refreshes it from the promotion catalog in the
 * background (stale-while-revalidate); only an isolate that has none (or none
 * younger than a minute) waits. A cart's discounts may thus trail an admin
 * change by about a second; checkout reads the catalog itself. Holds plain
 * data only: a promise made for one request is never handed to another.
 */
import type { ActivePromotions, Promotion } from "../domain/promotions";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

export const PROMOTIONS_FRESH_MS = 1_000;
export const PROMOTIONS_MAX_STALE_MS = 60_000;
const REFRESH_CLAIM_MS = 2_000;

/** The catalog actor: one, named "catalog". */
export function promotionCatalog(env: Env) {
  return env.PROMOTIONS.getByName("catalog");
}

export class PromotionCache {
  private copy: ActivePromotions | null = null;
  private at = 0;
  private refreshingUntil = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * The active promotions, and whether the caller should refresh them after
   * answering (`refresh`): waits only when there is no usable copy.
   */
  async active(env: Env): Promise<{ promotions: Promotion[]; refresh: boolean }> {
    const now = this.clock();
    const age = this.copy ? now - this.at : Infinity;
    if (!this.copy || age >= PROMOTIONS_MAX_STALE_MS) {
      this.put(await promotionCatalog(env).active());
      return { promotions: this.copy!.promotions, refresh: false };
    }
    const refresh = age >= PROMOTIONS_FRESH_MS && this.refreshingUntil <= now;
    if (refresh) this.refreshingUntil = now + REFRESH_CLAIM_MS;
    return { promotions: this.copy.promotions, refresh };
  }

  /** Reloads the copy from the catalog (after answering). */
  async refresh(env: Env): Promise<void> {
    try {
      this.put(await promotionCatalog(env).active());
    } catch (err) {
      this.refreshingUntil = 0;
      log.warn("promotions: background refresh failed", { error: errorText(err) });
    }
  }

  /**
   * Makes sure the copy knows `promotion` at least at its version (a code just applied must
   * show its discount at once): reloads the copy from the catalog when it does not.
   */
  async include(env: Env, promotion: Promotion): Promise<void> {
    const known = this.copy?.promotions.find((p) => p.promotionId === promotion.promotionId);
    if (known && known.version >= promotion.version) return;
    this.put(await promotionCatalog(env).active());
  }

  /** A copy replaces only an older version (two refreshes may finish out of order). */
  put(active: ActivePromotions, at = this.clock()): void {
    if (!this.copy || active.version >= this.copy.version) this.copy = active;
    this.at = Math.max(this.at, at);
    this.refreshingUntil = 0;
  }

  clear(): void {
    this.copy = null;
    this.at = 0;
  }
}

/** The isolate's copy (module state: shared by the cart actors and requests of this isolate). */
export const promotionCache = new PromotionCache();
