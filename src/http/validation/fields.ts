/**
 * The building blocks of the request and response schemas: identifiers,
 * money, quantities, the one free-text rule, and the example values of the
 * OpenAPI document.
 */
import { z } from "zod";
import { MAX_LINE_QUANTITY } from "../../contracts/limits";
import { ORDER_ID } from "../../domain/order-ids";
import { Amount as AmountScalar, IsoTime, SkuId, UnitPrice } from "../../contracts/scalars";

export { SkuId };
import { UUID as GUEST_CART_ID } from "../identity";

/** Example values of the OpenAPI document (each one is checked against its schema in test/dev/openapi-document.test.ts). */
export const EXAMPLE = {
  guestCartId: "4f7c1c1e-8d3a-4a52-9b7e-2f0d6c1a9e11",
  checkoutOrderId: "ord_9b2f6c1d0e8a47f3b5c2d1e0f9a8b7c6",
  flashOrderId: "fl_3c7a9e1b5d2f48a6c0e9b1d7f3a5c2e8.2.grinder-flash",
  at: "2026-05-01T12:00:00.000Z",
  expiresAt: "2026-05-01T12:15:00.000Z",
  line: {
    skuId: "tee-red-m",
    productId: "tee-classic",
    merchantId: "m-threads",
    name: "Classic Tee - Red, M",
    image: "https://images.example.com/demo/tee-red-m.jpg",
    spec: { color: "red", size: "M" },
  },
};

export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "an ISO 4217 code such as USD")
  .meta({ example: "USD" });
/** A unit price (a SKU's price); its bound keeps every cart total exact and storable (contracts/limits.ts). */
export const Price = UnitPrice;
/** A total or a payment amount. */
export const Amount = AmountScalar;
export const Quantity = z.number().int().min(1).max(MAX_LINE_QUANTITY);
/**
 * Control characters (C0 with NUL, DEL, C1) and unpaired surrogates: never
 * meaningful in a name or id, invisible in a storefront, and Postgres refuses
 * NUL outright, so they are stopped here rather than poisoning the pipeline.
 */
const UNSAFE_TEXT = /[\p{Cc}\p{Cs}]/u;
const noUnsafeText = (s: string) => !UNSAFE_TEXT.test(s);
const UNSAFE_TEXT_MESSAGE = "control characters (NUL included) and unpaired surrogates are not allowed";

/** The one text schema of the API: every free-text field and text query parameter uses it. */
export const Text = (max: number) => z.string().trim().min(1).max(max).refine(noUnsafeText, UNSAFE_TEXT_MESSAGE);
export const Spec = z
  .union([
    Text(200).meta({ description: "a free-text variant label", example: "Red / M" }),
    z
      .record(Text(64), Text(256))
      .refine((s) => Object.keys(s).length <= 50, "at most 50 attributes")
      .meta({ example: { color: "Red", size: "M" } }),
  ])
  .meta({ description: "the variant as the merchant writes it: a label or attribute -> value; shown as given" });
export const HttpsUrl = z
  .url({ protocol: /^https$/ })
  .max(2048)
  .regex(/^https:\/\/[^\s\p{Cc}\p{Cs}]+$/u, "an https: URL")
  .meta({ example: "https://cdn.example.com/p/tee-red-m.jpg" });
export const GuestCartId = z
  .string()
  .regex(GUEST_CART_ID, "a UUID")
  .meta({ description: "a guest cart id (UUID)", example: EXAMPLE.guestCartId });
export const OrderId = z
  .string()
  .regex(ORDER_ID, "an order id as returned by checkout or flash buy")
  .meta({ example: EXAMPLE.checkoutOrderId });
/** Times in responses: the entities' ISO 8601 format. */
export const Iso = IsoTime;

/** The `{skuId}` of a path (catalog, cart lines, flash buy, live stock). */
export const SkuParams = z.object({ skuId: SkuId });
