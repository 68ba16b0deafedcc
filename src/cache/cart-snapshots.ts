import type { CartState } from "../domain/cart";
import type { VersionedValue } from "./redis";
import { readVersioned, redisClient, RedisUnavailableError } from "./redis";

/** Members are the cart keys changed since the last hourly sync. */
export const DIRTY_CARTS_SET = "carts:dirty";

/** `cart:user:{id}` / `cart:guest:{id}` (docs/API.md section 1). */
export const cartSnapshotKey = (cartKey: string) => `cart:${cartKey}`;

export function cartSnapshotValue(state: CartState, guestTtlMs: number): VersionedValue {
  return {
    key: cartSnapshotKey(state.cartKey),
    version: state.version,
    data: JSON.stringify(state),
    // Guest carts expire 30 days after their last change; the snapshot goes with them.
    ttlSeconds: state.cartKey.startsWith("guest:") ? Math.ceil(guestTtlMs / 1000) : 0,
    dirty: { set: DIRTY_CARTS_SET, member: state.cartKey },
  };
}

/**
 * The cart snapshot from Redis, or null when there is none, Redis is off, or
 * it does not answer within the read timeout (the caller asks the actor).
 */
export async function readCartSnapshot(env: Env, cartKey: string): Promise<CartState | null> {
  const redis = redisClient(env);
  if (!redis) return null;
  try {
    const hit = (await readVersioned(redis, [cartSnapshotKey(cartKey)])).get(cartSnapshotKey(cartKey));
    return hit ? (JSON.parse(hit.data) as CartState) : null;
  } catch (err) {
    // While the write gate's breaker is open Redis is known down: it logged that once already.
    if (!(err instanceof RedisUnavailableError)) console.warn("cart snapshot: Redis unavailable, reading the actor", err instanceof Error ? err.message : err);
    return null;
  }
}
