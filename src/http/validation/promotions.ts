/**
 * Promotion schemas: the admin's upsert, the promotion as the admin API shows
 * it (the entity with its budget's counters), the list, and the cart's code.
 */
import { z } from "zod";
import { MAX_AMOUNT, MAX_LINE_QUANTITY } from "../../contracts/limits";
import { PromotionKindSchema, PromotionSchema } from "../../contracts/promotion";
import { Amount, Currency, SkuId, Text } from "./fields";

/** A code as shoppers type it: 3-32 letters, digits, `-` or `_`; compared case-insensitively. */
export const PromotionCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{3,32}$/, "3-32 letters, digits, - or _")
  .meta({ example: "BLACKFRIDAY" });

export const PromotionParams = z.object({ promotionId: SkuId.meta({ example: "bf-2026" }) });
export const CodeParams = z.object({ code: PromotionCode });
export const ApplyCodeBody = z.strictObject({ code: PromotionCode }).meta({ examples: [{ code: "BLACKFRIDAY" }] });

const Time = z.iso.datetime({ offset: true }).meta({ example: "2026-11-27T00:00:00Z" });

export const PromotionUpsertBody = z
  .strictObject({
    code: PromotionCode.nullable().optional().meta({ description: "omit or null: an automatic promotion" }),
    kind: PromotionKindSchema,
    value: z.number().int().min(1).max(MAX_AMOUNT).meta({
      description: "percent: 1-100 off; fixed: minor units off; buy_x_get_y: units to buy (X)",
    }),
    get: z.number().int().min(1).max(MAX_LINE_QUANTITY).optional().meta({
      description: "buy_x_get_y: units free for every X bought (Y, default 1)",
    }),
    currency: Currency.optional().meta({ description: "required for a fixed amount and for minSubtotal" }),
    appliesTo: z
      .strictObject({
        skuIds: z.array(SkuId).min(1).max(500).optional(),
        merchantIds: z.array(Text(128)).min(1).max(100).optional(),
      })
      .optional()
      .meta({ description: "the lines it discounts; omitted: every line" }),
    minSubtotal: Amount.optional(),
    startsAt: Time.optional(),
    endsAt: Time.optional(),
    limit: z.number().int().min(1).max(10_000_000).nullable().optional().meta({
      description: "total redemptions (paid plus reserved); omitted or null: unlimited",
    }),
    limitPerCustomer: z.number().int().min(1).max(MAX_LINE_QUANTITY).nullable().optional().meta({
      description: "redemptions per signed-in customer; a limited code needs a signed-in customer",
    }),
    stripes: z.number().int().min(1).max(64).default(1).meta({ description: "budget stripes for a hot code" }),
    active: z.boolean(),
  })
  .superRefine((b, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (b.kind === "percent" && b.value > 100) issue("value", "a percentage is at most 100");
    if (b.kind === "buy_x_get_y" && b.value > MAX_LINE_QUANTITY) issue("value", `at most ${MAX_LINE_QUANTITY}`);
    if (b.kind !== "buy_x_get_y" && b.get !== undefined) issue("get", "only for buy_x_get_y");
    if (b.kind === "fixed" && !b.currency) issue("currency", "a fixed amount needs a currency");
    if (b.minSubtotal !== undefined && !b.currency) issue("currency", "a minimum subtotal needs a currency");
    if (b.startsAt && b.endsAt && Date.parse(b.endsAt) <= Date.parse(b.startsAt))
      issue("endsAt", "must be after startsAt");
  })
  .meta({
    examples: [
      { code: "BLACKFRIDAY", kind: "percent", value: 20, limit: 500, limitPerCustomer: 1, stripes: 4, active: true },
    ],
  });

const Counter = z.number().int().nullable();

export const PromotionViewSchema = PromotionSchema.extend({
  used: Counter.meta({ description: "redemptions of paid orders (null without limits)" }),
  reserved: Counter.meta({ description: "redemptions held by pending orders" }),
  remaining: Counter.meta({ description: "limit - used - reserved (null: no total limit)" }),
}).meta({ id: "Promotion" });

export const PromotionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: SkuId.optional(),
});

export const PromotionListSchema = z.object({ items: z.array(PromotionViewSchema), next: z.string().nullable() });
