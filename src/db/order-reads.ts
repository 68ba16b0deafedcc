/**
 * Read model of orders in Postgres for listings (flash orders are listed from
 * here), time-boxed so a slow database never holds a listing.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { DomainError } from "../domain/errors";
import { withTimeout } from "../timeout";
import { withDatabase } from "./client";
import { orders } from "./tables";
import { log } from "../log/logger";

/** A listing that waits longer than this for Postgres is refused (503). */
const LIST_TIMEOUT_MS = 2_000;

/** How long a client is told to wait when the listing cannot be complete. */
export const LIST_RETRY_AFTER_SECONDS = 5;

/**
 * The owner's order ids in Postgres, newest first, after the cursor
 * (`createdAt|orderId`). Flash orders are listed from here only: the burst writes
 * them to their stock stripe, and the queue brings them to Postgres within
 * seconds (docs/API.md, Flash buy). When Postgres is not configured or does not
 * answer in time the listing would silently miss them, so it is refused with
 * 503 DEPENDENCY_UNAVAILABLE and Retry-After instead.
 */
export async function ownerOrderIds(
  env: Env,
  ownerId: string,
  after: { createdAt: string; orderId: string } | null,
  limit: number,
): Promise<string[]> {
  if (!env.DATABASE_URL) throw listingUnavailable("Postgres is not configured");
  const query = withDatabase(env, async (db) => {
    const rows = await db
      .select({ orderId: orders.orderId })
      .from(orders)
      .where(
        and(
          eq(orders.ownerId, ownerId),
          after
            ? sql`(${orders.createdAt}, ${orders.orderId}) < (${after.createdAt}::timestamptz, ${after.orderId})`
            : undefined,
        ),
      )
      .orderBy(desc(orders.createdAt), desc(orders.orderId))
      .limit(limit);
    return rows.map((r) => r.orderId);
  });
  try {
    return await withTimeout(query, LIST_TIMEOUT_MS);
  } catch (err) {
    throw listingUnavailable(err instanceof Error ? err.message : String(err));
  }
}

function listingUnavailable(reason: string): DomainError {
  log.warn("order listing refused: Postgres not read", { outcome: "unavailable", error: reason });
  return new DomainError(
    "DEPENDENCY_UNAVAILABLE",
    "the order listing is unavailable right now (its store does not answer); retry shortly",
    undefined,
    { "retry-after": String(LIST_RETRY_AFTER_SECONDS) },
  );
}
