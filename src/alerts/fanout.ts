import { and, asc, eq, gt, lte, ne, or, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import { cartItems } from "../db/tables";
import type { CartAlertData, CartAlertType, Envelope } from "../events/envelope";
import type { SkuAlertJob } from "./plan";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/**
 * Price and stock alerts, fan-out side: one `cart-alerts` message is one page of holders.
 *  - Holders come from Postgres (`cart_items`, indexed by sku_id), keyset-paged by cart key,
 *    HOLDERS_PAGE at a time; only the holders a change concerns (other price than their
 *    snapshot, now short of stock, or all of them when the SKU went inactive).
 *  - A full page queues the next page before it works, so a SKU held by 100,000 carts is
 *    200 small messages, each retried on its own, never one invocation's 100,000 calls.
 *  - The page's cart actors are told with at most ACTOR_CONCURRENCY calls in flight; the
 *    queue's batch size and concurrency bound the overall rate (wrangler.toml).
 *  - Each cart accepts one alert per (SKU, version, kind) and pushes the cart to its open
 *    devices; the alert event (`cart.price_dropped`, ...) goes to `cart-events` with an id
 *    derived from the same triple, so a retried page emits nothing twice downstream.
 */
export const HOLDERS_PAGE = 500;
const ACTOR_CONCURRENCY = 32;
const QUEUE_BATCH = 100;

interface Holder {
  cartKey: string;
  quantity: number;
  unitPrice: number;
}

export async function runAlertJobs(batch: MessageBatch, env: Env): Promise<void> {
  for (const message of batch.messages) {
    try {
      await runAlertJob(env, message.body as SkuAlertJob);
      message.ack();
    } catch (err) {
      log.error("cart alerts failed", {
        skuId: (message.body as SkuAlertJob).skuId,
        attempt: message.attempts,
        outcome: "retry",
        error: errorText(err),
      });
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}

export async function runAlertJob(env: Env, job: SkuAlertJob): Promise<{ holders: number; alerted: number }> {
  const holders = await withDatabase(env, (db) => holdersOf(db, job));
  if (holders.length === HOLDERS_PAGE)
    await env.CART_ALERTS.send({ ...job, after: holders[holders.length - 1]!.cartKey }, { contentType: "json" });

  const events: Envelope[] = [];
  let next = 0;
  const worker = async () => {
    while (next < holders.length) {
      const holder = holders[next++]!;
      for (const type of alertTypes(job, holder)) {
        if (await env.CARTS.getByName(holder.cartKey).skuAlert(job.skuId, job.version, type))
          events.push(alertEvent(job, holder, type));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ACTOR_CONCURRENCY, holders.length) }, worker));
  for (let i = 0; i < events.length; i += QUEUE_BATCH) {
    await env.CART_EVENTS.sendBatch(
      events.slice(i, i + QUEUE_BATCH).map((body) => ({ body, contentType: "json" as const })),
    );
  }
  return { holders: holders.length, alerted: events.length };
}

function holdersOf(db: Database, job: SkuAlertJob): Promise<Holder[]> {
  const concerns: SQL[] = [];
  if (job.wentInactive) concerns.push(sql`true`);
  if (job.priceChanged) concerns.push(ne(cartItems.unitPrice, job.price));
  if (job.stockFell)
    concerns.push(and(gt(cartItems.quantity, job.available), lte(cartItems.quantity, job.prevAvailable))!);
  return db
    .select({ cartKey: cartItems.cartKey, quantity: cartItems.quantity, unitPrice: cartItems.unitPrice })
    .from(cartItems)
    .where(
      and(
        eq(cartItems.skuId, job.skuId),
        job.after === null ? undefined : gt(cartItems.cartKey, job.after),
        or(...concerns),
      ),
    )
    .orderBy(asc(cartItems.cartKey))
    .limit(HOLDERS_PAGE);
}

export function alertTypes(job: SkuAlertJob, holder: Holder): CartAlertType[] {
  const types: CartAlertType[] = [];
  if (job.wentInactive) types.push("cart.sku_unavailable");
  else {
    if (job.priceChanged && job.price < holder.unitPrice) types.push("cart.price_dropped");
    if (job.priceChanged && job.price > holder.unitPrice) types.push("cart.price_raised");
    if (job.stockFell && holder.quantity > job.available && holder.quantity <= job.prevAvailable)
      types.push("cart.stock_short");
  }
  return types;
}

function alertEvent(job: SkuAlertJob, holder: Holder, type: CartAlertType): Envelope<CartAlertType> {
  const data: CartAlertData = {
    cartKey: holder.cartKey,
    skuId: job.skuId,
    skuVersion: job.version,
    quantity: holder.quantity,
    unitPrice: holder.unitPrice,
    currentPrice: job.price,
    available: job.available,
    status: job.status,
  };
  return {
    id: `alert:${holder.cartKey}:${job.skuId}:${job.version}:${type}`,
    type,
    occurredAt: new Date().toISOString(),
    aggregateId: holder.cartKey,
    version: job.version,
    data,
  };
}
