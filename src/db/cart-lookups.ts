/** The isolate's batched cart lookups for rebuilds (module state, shared by every cart actor of the isolate). */
import { BatchedReads } from "./batched-reads";
import type { CartState } from "../domain/cart";
import { loadCarts } from "./cart-reads";
import { withDatabase } from "./client";

const lookups = new Map<string, BatchedReads<CartState>>();

/** One batcher per database (tests run several environments in one isolate). */
export function cartLookups(env: Env): BatchedReads<CartState> {
  const url = env.DATABASE_URL ?? "";
  let batcher = lookups.get(url);
  if (!batcher) {
    batcher = new BatchedReads((keys) => withDatabase(env, (db) => loadCarts(db, keys)));
    lookups.set(url, batcher);
  }
  return batcher;
}
