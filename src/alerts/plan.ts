import { inArray } from "drizzle-orm";
import { z } from "zod";
import type { Writer } from "../db/projections/writer";
import { skus } from "../db/tables";
import type { Envelope } from "../events/envelope";
import { log } from "../log/logger";
import { errorText } from "../log/redact";
import { SkuId, UnitPrice } from "../contracts/scalars";

/**
 * Price and stock alerts, planning side (docs/events.md, "Cart alerts"). The consumer
 * already projects every `sku.updated` and inventory movement into `skus`; around that, in
 * the same transaction, it reads the alert-relevant state of the SKUs the batch touches
 * before and after, and for each SKU whose price changed, that went inactive, or whose
 * available stock fell, it queues ONE job on `cart-alerts`. The jobs do the fan-out to the
 * holders (fanout.ts), a page at a time. Nothing here calls a cart actor.
 */
/** One page of a SKU's alert fan-out: the `cart-alerts` message (and what a replay of one must hold). */
export const SkuAlertJobSchema = z.object({
  skuId: SkuId,
  /** The SKU's catalog version after the change: carts accept one alert per SKU version and kind. */
  version: z.number().int().nonnegative(),
  price: UnitPrice,
  status: z.string().min(1).max(32),
  available: z.number().int(),
  /** Units available before the drop; holders of more than `available` but no more than this are newly short. */
  prevAvailable: z.number().int(),
  priceChanged: z.boolean(),
  wentInactive: z.boolean(),
  stockFell: z.boolean(),
  /** Keyset cursor over the holders (cart_key), null for the first page. */
  after: z.string().max(300).nullable(),
});
export type SkuAlertJob = z.infer<typeof SkuAlertJobSchema>;

interface AlertState {
  version: number;
  price: number;
  currency: string;
  status: string;
  available: number;
  saleStartsAt: string | null;
}

function touchedSkus(events: Envelope[]): string[] {
  const ids = new Set<string>();
  for (const e of events)
    if (e.type === "sku.updated" || e.type.startsWith("inventory.")) ids.add((e.data as { skuId: string }).skuId);
  return [...ids];
}

async function readState(tx: Writer, skuIds: string[]): Promise<Map<string, AlertState>> {
  if (skuIds.length === 0) return new Map();
  const rows = await tx
    .select({
      skuId: skus.skuId,
      version: skus.version,
      price: skus.price,
      currency: skus.currency,
      status: skus.status,
      onHand: skus.onHand,
      reserved: skus.reserved,
      saleStartsAt: skus.saleStartsAt,
    })
    .from(skus)
    .where(inArray(skus.skuId, skuIds));
  return new Map(
    rows.map((r) => [
      r.skuId,
      {
        version: r.version,
        price: r.price,
        currency: r.currency,
        status: r.status,
        available: r.onHand - r.reserved,
        saleStartsAt: r.saleStartsAt ?? null,
      },
    ]),
  );
}

export function planAlerts(before: Map<string, AlertState>, after: Map<string, AlertState>): SkuAlertJob[] {
  const jobs: SkuAlertJob[] = [];
  for (const [skuId, now] of after) {
    const was = before.get(skuId);
    if (!was) continue; // a SKU seen for the first time: no cart can hold it yet
    const priceChanged = now.price !== was.price;
    const wentInactive = was.status === "active" && now.status !== "active";
    const stockFell = now.available < was.available;
    if (!priceChanged && !wentInactive && !stockFell) continue;
    jobs.push({
      skuId,
      version: now.version,
      price: now.price,
      status: now.status,
      available: now.available,
      prevAvailable: was.available,
      priceChanged,
      wentInactive,
      stockFell,
      after: null,
    });
  }
  return jobs;
}

/**
 * Runs `apply` (the batch's projections) and queues the alert jobs it causes, inside the
 * caller's transaction: if the commit fails the batch is retried and the jobs are queued
 * again, which the carts absorb (one alert per SKU version and kind). A stock movement
 * costs one indexed read of its SKU row before and after.
 */
export async function withSkuAlerts(
  tx: Writer,
  env: Env,
  events: Envelope[],
  apply: () => Promise<void>,
): Promise<void> {
  const skuIds = touchedSkus(events);
  const before = await readState(tx, skuIds);
  await apply();
  const after = await readState(tx, skuIds);
  const jobs = planAlerts(before, after);
  if (jobs.length > 0 && env.CART_ALERTS)
    await env.CART_ALERTS.sendBatch(jobs.map((body) => ({ body, contentType: "json" as const })));
  await publishStock(env, after);
}

/**
 * The same after-state, pushed to the pages watching each SKU (src/actors/sku/sku-watch.ts): one
 * call per SKU per consumed batch. Best effort: a page that misses one gets the next, and
 * re-reads the SKU view now and then anyway.
 */
async function publishStock(env: Env, after: Map<string, AlertState>): Promise<void> {
  const at = Date.now();
  await Promise.all(
    [...after].map(([skuId, s]) =>
      env.SKU_WATCH.getByName(skuId)
        .publish({
          skuId,
          available: Math.max(0, s.available),
          status: s.status,
          price: s.price,
          currency: s.currency,
          saleStartsAt: s.saleStartsAt,
          at,
        })
        .catch((err: unknown) => log.warn("stock push failed", { skuId, error: errorText(err) })),
    ),
  );
}
