/**
 * The payment provider's webhook: signature check, ids unique across orders,
 * then the order applies the event.
 */
import { z } from "zod";
import { orderActor } from "../actors/order/order-routing";
import { foreignPaymentOwner } from "../actors/order/payment-ledger";
import { DomainError, unwrap } from "../domain/errors";
import type { App } from "./route";
import { parseJsonBody, readBodyText, route } from "./route";
import { PaymentWebhookBody } from "./validation/orders";
import { constantTimeEqual, hmacSha256Hex } from "./signing";

export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * `Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * Several v1 entries are accepted (secret rotation). Stale or future
 * timestamps beyond the tolerance are refused, so a captured request cannot
 * be replayed later.
 */
export async function verifyPaymentSignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowMs = Date.now(),
): Promise<boolean> {
  if (!header || header.length > 2048) return false;
  let t: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const [k, v] = part.trim().split("=", 2);
    if (k === "t" && v && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === "v1" && v && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (t === null || signatures.length === 0) return false;
  if (Math.abs(nowMs / 1000 - t) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const expected = await hmacSha256Hex(secret, `${t}.${rawBody}`);
  let valid = false;
  for (const s of signatures) valid = (await constantTimeEqual(s, expected)) || valid;
  return valid;
}

export function paymentRoutes(app: App): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/payments/webhook",
      tag: "Payments",
      summary: "Payment provider webhook (signed)",
      description:
        "The signature is checked over the raw body before anything is parsed or recorded. succeeded on PENDING with the right amount -> PAID; failed -> recorded, order stays PENDING; refunded on PAID -> REFUNDED; succeeded after EXPIRED/CANCELLED -> recorded with refundRequired; amount or currency mismatch -> recorded FAILED; a duplicate eventId or transactionId -> 200 with no second effect; an eventId or transactionId already used on another order is recorded FAILED and pays nothing.",
      access: "webhook",
      rawBody: true,
      body: PaymentWebhookBody,
      ok: {
        status: 200,
        description: "Received",
        schema: z.object({
          received: z.literal(true),
          duplicate: z.boolean(),
          orderId: z.string(),
          status: z.string(),
          refundRequired: z.boolean(),
        }),
      },
      problems: ["UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"],
    },
    async (c) => {
      const secret = c.env.PAYMENT_WEBHOOK_SECRET;
      if (!secret)
        throw new DomainError("FORBIDDEN", "payment webhooks are refused until PAYMENT_WEBHOOK_SECRET is set");
      const raw = await readBodyText(c);
      if (!(await verifyPaymentSignature(secret, c.req.header("payment-signature"), raw))) {
        throw new DomainError("UNAUTHORIZED", "the Payment-Signature is missing, invalid or stale");
      }
      const event = parseJsonBody(raw, PaymentWebhookBody);
      const actor = orderActor(c.env, event.orderId);
      if (!actor || !(await actor.get())) throw new DomainError("NOT_FOUND", `no order ${event.orderId}`);
      // Provider ids are unique across orders: ids another order used first never pay this one.
      const usedBy = await foreignPaymentOwner(c.env, event);
      const { order, duplicate } = unwrap(await actor.applyPayment(event, usedBy));
      return c.json({
        received: true as const,
        duplicate,
        orderId: order.orderId,
        status: order.status,
        refundRequired: order.refundRequired,
      });
    },
  );
}
