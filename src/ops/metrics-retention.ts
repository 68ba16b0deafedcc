/**
 * The local metrics sink keeps a few hours: the ops API reads at most one hour back. The hourly
 * cron deletes older rows (Analytics Engine keeps its own data three months).
 */
import { lt } from "drizzle-orm";
import { withDatabase } from "../db/client";
import { opsMetrics } from "../db/tables";

export const METRICS_KEEP_MS = 6 * 3600_000;

export async function deleteOldMetrics(env: Env, now = Date.now()): Promise<number> {
  const gone = await withDatabase(env, (db) =>
    db
      .delete(opsMetrics)
      .where(lt(opsMetrics.at, new Date(now - METRICS_KEEP_MS).toISOString()))
      .returning({ id: opsMetrics.id }),
  );
  return gone.length;
}
