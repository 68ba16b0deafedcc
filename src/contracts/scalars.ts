/**
 * The scalar fields every entity schema is built from: whole numbers (counts,
 * versions), money in minor units with its one bound (contracts/limits.ts), and
 * ISO 8601 times.
 */
import { z } from "zod";
import { MAX_AMOUNT, MAX_UNIT_PRICE } from "./limits";

export const Int = z.number().int();

/** A unit price in minor units; the same bound holds at the edge, in events and in Postgres (bigint). */
export const UnitPrice = z
  .number()
  .int()
  .min(0)
  .max(MAX_UNIT_PRICE)
  .meta({ description: `integer unit price in minor units (cents), at most ${MAX_UNIT_PRICE}` });

/** Any other amount in minor units (a line total, an order total, a payment): at most the largest cart's total. */
export const Amount = z
  .number()
  .int()
  .min(0)
  .max(MAX_AMOUNT)
  .meta({ description: `integer amount in minor units (cents), at most ${MAX_AMOUNT}` });

/** An ISO 8601 time as the service writes it (`new Date().toISOString()`). */
export const IsoTime = z.string().min(10).meta({ format: "date-time" });

/** A SKU id: what a path, a cart line and a stock stripe name it by. */
export const SkuId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "1-128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit")
  .meta({ example: "sku-red-shirt-m" });
