/**
 * Read model of orders in Postgres for listings (flash orders are listed from
 * here), time-boxed so a slow database never blocks a listing.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { withTimeout } from "../timeout";
import { withDatabase } from "./client";
import { orders } from "./schema";

/** A listing that waits longer than this for Postgres answers from the actors alone. */
const LIST_TIMEOUT_MS = 2_000;

/**
 * The owner's order ids in Postgres, newest first, after the cursor
 * (`createdAt|orderId`). Flash orders are listed from here: the burst writes
 * them only to their stock stripe, and the queue brings them to Postgres
 * within seconds (docs/API.md, Flash buy). Empty (with a warning) when Postgres
 * is not configured or does not answer in time: the listing then shows what
 * the actors know.
 */
export async function ownerOrderIds(
  env: Env,
  ownerId: string,
  after: { createdAt: string; orderId: string } | null,
  limit: number,
): Promise<string[]> {
  if (!env.DATABASE_URL) return [];
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
    console.warn(
      `orders of ${ownerId}: Postgres not read (${err instanceof Error ? err.message : String(err)}); listing what the actors know`,
    );
    return [];
  }
}
