/**
 * Checkout and flash buy routes: the Idempotency-Key, the request hash, and
 * the order actor or stock stripe that places the order.
 */
import { checkoutOrderId } from "../domain/order-ids";
import { DomainError, unwrap } from "../domain/errors";
import { flashBuyAtHome, flashPromotions } from "../actors/sku/flash-buy";
import { normalizeCode } from "../domain/promotions";
import { reservationTtlSeconds } from "../env";
import type { App, AppContext } from "./route";
import { route } from "./route";
import { SkuParams } from "./validation/fields";
import { CheckoutBody, FlashBody, PlacedOrderSchema } from "./validation/orders";
import { placedWithIntent } from "./payment-intents";
import { problem } from "./problem";
import { PROMOTION_REFUSALS } from "./promotions";
import { canonicalJson, sha256Hex } from "./signing";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const IDEMPOTENCY_HEADER = {
  name: "Idempotency-Key",
  required: true,
  description: "1-255 visible ASCII characters; the same key and body return the same order",
};

function idempotencyKey(c: AppContext): string {
  const key = c.req.header("idempotency-key");
  if (key === undefined)
    throw new DomainError("VALIDATION_FAILED", "the Idempotency-Key header is required", [
      { code: "required", path: "header.Idempotency-Key" },
    ]);
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError("VALIDATION_FAILED", "Idempotency-Key must be 1-255 visible ASCII characters", [
      { code: "invalid_format", path: "header.Idempotency-Key" },
    ]);
  }
  return key;
}

/**
 * The order id is derived from the buyer and the Idempotency-Key: retries and
 * concurrent duplicates of one request reach the same order actor, which
 * keeps the key for as long as the order exists.
 */
export async function orderIdFor(ownerId: string, key: string): Promise<string> {
  return checkoutOrderId(await sha256Hex(`${ownerId}\n${key}`));
}

export function checkoutRoutes(app: App): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/checkout",
      tag: "Checkout",
      summary: "Check out the selected (or named) lines: reserve every line or none and create a PENDING order",
      description:
        "201 with the new order; the same Idempotency-Key and body return the same order with 200; the same key with another body is 422. Line failures are 409 with per-line `errors` and leave the cart unchanged. The checked-out lines leave the cart. A line another checkout of this cart is taking (another key: a second device, a double click) is 409 CHECKOUT_IN_PROGRESS naming that order: one order per line.",
      access: "cart",
      rateLimited: true,
      headers: [IDEMPOTENCY_HEADER],
      body: CheckoutBody,
      bodyOptional: true,
      ok: { status: 201, description: "The PENDING order", schema: PlacedOrderSchema },
      problems: [
        "PAYMENT_REFUSED",
        "CHECKOUT_EMPTY",
        "CHECKOUT_IN_PROGRESS",
        "SKU_UNAVAILABLE",
        "OUT_OF_STOCK",
        "LIMIT_EXCEEDED",
        "SIGN_IN_REQUIRED",
        "SALE_NOT_STARTED",
        "PRICE_CHANGED",
        "IDEMPOTENCY_KEY_REUSED",
        ...PROMOTION_REFUSALS,
      ],
    },
    async (c, { identity, body }) => {
      const key = idempotencyKey(c);
      const skuIds = body.skuIds ?? null;
      const expectedTotal = body.expectedTotal ?? null;
      const orderId = await orderIdFor(identity.cartKey, key);
      const requestHash = await sha256Hex(canonicalJson({ op: "checkout", skuIds, expectedTotal }));
      const placed = unwrap(
        await c.env.ORDERS.getByName(orderId).placeCheckout({
          ownerId: identity.cartKey,
          requestHash,
          skuIds,
          expectedTotal,
          ttlSeconds: reservationTtlSeconds(c.env),
        }),
      );
      return c.json(await placedWithIntent(c.env, placed.order), placed.created ? 201 : 200);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/flash/{skuId}/orders",
      tag: "Checkout",
      summary: "Flash-sale buy-now: reserve and create a PENDING order in one call, without the cart",
      description:
        "Only the buyer's home stock stripe is called: it reserves and writes the PENDING order in one transaction, and keeps the order (the order id routes to it). Refusals (SOLD_OUT, LIMIT_EXCEEDED) write nothing. 201 with the order; a retry with the same Idempotency-Key and quantity returns it with 200; the same key with another quantity is 422. The key is scoped to the SKU.",
      access: "user",
      rateLimited: true,
      headers: [IDEMPOTENCY_HEADER],
      params: SkuParams,
      body: FlashBody,
      ok: { status: 201, description: "The PENDING order", schema: PlacedOrderSchema },
      problems: [
        "SOLD_OUT",
        "LIMIT_EXCEEDED",
        "SALE_NOT_STARTED",
        "SKU_UNAVAILABLE",
        "IDEMPOTENCY_KEY_REUSED",
        ...PROMOTION_REFUSALS,
        "PAYMENT_REFUSED",
      ],
    },
    async (c, { identity, params, body }) => {
      const ownerId = identity.cartKey;
      const code = body.code === undefined ? null : normalizeCode(body.code);
      const { promotions, redeem } = unwrap(
        await flashPromotions(c.env, params.skuId, code, (work) => c.executionCtx.waitUntil(work)),
      );
      const placed = await flashBuyAtHome(
        c.env,
        params.skuId,
        {
          keyHash: await sha256Hex(`${ownerId}\n${idempotencyKey(c)}`),
          ownerId,
          requestHash: code === null ? `flash:${body.quantity}` : `flash:${body.quantity}:${code}`,
          quantity: body.quantity,
          ttlMs: reservationTtlSeconds(c.env) * 1000,
          code,
          promotions,
        },
        redeem,
      );
      // Refusals are answered, not thrown: three of four attempts in a sale are one, and an Error
      // built and unwound through the middleware chain was about 3% of a flash burst's isolate time
      // (docs/performance.md, Flash).
      if (!placed.ok) {
        if (placed.code !== "OUT_OF_STOCK") return problem(c, placed.code, placed.detail, placed.errors);
        const errors = placed.errors?.map((e) => ({ ...e, code: "SOLD_OUT" }));
        return problem(c, "SOLD_OUT", placed.detail, errors);
      }
      return c.json(await placedWithIntent(c.env, placed.order), placed.created ? 201 : 200);
    },
  );
}
