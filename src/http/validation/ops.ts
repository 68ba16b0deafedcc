/**
 * Schemas of the operator's views (GET /v1/admin/metrics, /v1/admin/stock, /v1/admin/dead-letters):
 * the shape /ops/ reads, as written in the contract (docs/operations.md).
 */
import { z } from "zod";
import { SkuId } from "../../contracts/scalars";

const Count = z.number().int().nonnegative();
const IsoTime = z.string().meta({ example: "2026-05-01T12:00:00.000Z" });

/** An ISO time or epoch milliseconds. */
export const MetricsQuery = z.object({
  since: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return undefined;
      const at = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
      if (Number.isNaN(at)) {
        ctx.addIssue({ code: "custom", message: "an ISO-8601 time or epoch milliseconds" });
        return z.NEVER;
      }
      return at;
    })
    .meta({ description: "Start of the window (ISO-8601 or epoch ms); default 15 minutes ago, at most 1 hour back" }),
});

export const MetricsSchema = z.object({
  since: IsoTime,
  until: IsoTime,
  stepSeconds: z.number().int(),
  series: z.array(
    z.object({
      at: IsoTime.meta({ description: "bucket start" }),
      requests: Count,
      status5xx: Count,
      shed: Count.meta({ description: "503 OVERLOADED and 429" }),
      p50Ms: z.number().nullable(),
      p99Ms: z.number().nullable(),
      flash: z.record(z.string(), z.object({ attempts: Count, wins: Count })),
      cartEdits: Count,
    }),
  ),
  refusals: z.record(z.string(), Count).meta({ description: "checkout and flash refusals by problem code" }),
  queueLagMs: z
    .number()
    .nullable()
    .meta({ description: "now minus the newest event time landed in Postgres in the window" }),
  outbox: z
    .record(z.string(), z.object({ depth: Count, lagMs: Count }))
    .nullable()
    .meta({
      description: "per actor kind (cart, sku, order), the last minute's relays: most events at once, mean age",
    }),
});

/** Which SKUs the stock view shows: one page in SKU id order, or the SKUs named. */
export const StockQuery = z.object({
  skus: z
    .string()
    .optional()
    .transform((v) => v?.split(","))
    .pipe(z.array(SkuId).min(1).max(50).optional())
    .meta({ description: "Only these SKUs, comma-separated (at most 50); default: a page of every SKU" }),
  after: SkuId.optional().meta({ description: "The page after this SKU id (the previous page's `next`)" }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ description: "SKUs per page, 1-500" }),
});

const Counters = { onHand: z.number().int(), reserved: z.number().int(), sold: z.number().int() };

export const StockSchema = z.object({
  skus: z.array(
    z.object({
      skuId: z.string(),
      stripes: z.array(z.object({ stripe: z.number().int(), ...Counters })),
      ...Counters,
      drift: Count.meta({ description: "0 when the actor and inventory_audit agree" }),
    }),
  ),
  next: z.string().nullable().meta({ description: "`after` for the next page; null on the last page" }),
  reconciledAt: IsoTime.nullable(),
  reconcile: z.object({ ok: z.boolean(), drift: z.array(z.unknown()) }).nullable(),
  promotions: z.array(
    z.object({
      id: z.string(),
      code: z.string().nullable(),
      limit: z.number().int().nullable(),
      used: z.number().int().nullable(),
      reserved: z.number().int().nullable(),
      remaining: z.number().int().nullable(),
    }),
  ),
});

export const DeadLetterStatusQuery = z.object({
  status: z.enum(["open", "replayed", "discarded", "all"]).default("open"),
});

export const DeadLetterParams = z.object({ id: z.string().min(1).max(200) });

/** Optional: the event as fixed by the operator, replacing the stored payload before the replay. */
export const ReplayBody = z.object({ payload: z.unknown().optional() });

export const DeadLettersSchema = z.object({
  deadLetters: z.array(
    z.object({
      id: z.string(),
      queue: z.string(),
      eventId: z.string().nullable(),
      type: z.string().nullable(),
      reason: z.string(),
      payload: z.unknown(),
      receivedAt: IsoTime,
      status: z.enum(["open", "replayed", "discarded"]),
      resolvedAt: IsoTime.nullable(),
    }),
  ),
});
