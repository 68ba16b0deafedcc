// `npm run pay -- <orderId> <amount> [succeeded|failed|refunded]`: plays the payment
// provider locally: signs a webhook with PAYMENT_WEBHOOK_SECRET and posts it. Exits
// non-zero unless the API answers 2xx.
import { createHmac, randomUUID } from "node:crypto";
import { readDevVars } from "./dev-vars.ts";
import { isMain } from "./util.ts";

export type PaymentOutcome = "succeeded" | "failed" | "refunded";

export interface PaymentCall {
  baseUrl: string;
  secret: string;
  orderId: string;
  amount: number;
  outcome?: PaymentOutcome;
  currency?: string;
}

/** Posts one signed payment webhook; resolves with the API's answer. */
export async function sendPayment(call: PaymentCall): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({
    eventId: `evt_${randomUUID()}`,
    type: `payment.${call.outcome ?? "succeeded"}`,
    orderId: call.orderId,
    transactionId: `tx_${randomUUID()}`,
    amount: call.amount,
    currency: call.currency ?? "USD",
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", call.secret).update(`${t}.${body}`).digest("hex");
  const res = await fetch(`${call.baseUrl}/v1/payments/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "payment-signature": `t=${t},v1=${v1}` },
    body,
  });
  return { status: res.status, body: await res.text() };
}

export function webhookSecret(): string {
  return process.env.PAYMENT_WEBHOOK_SECRET ?? readDevVars().PAYMENT_WEBHOOK_SECRET ?? "dev-webhook-secret";
}

if (isMain(import.meta.url)) {
  const [orderId, amount, outcome = "succeeded"] = process.argv.slice(2);
  if (!orderId || !amount || !/^\d+$/.test(amount) || !["succeeded", "failed", "refunded"].includes(outcome)) {
    console.error("usage: npm run pay -- <orderId> <amount in cents> [succeeded|failed|refunded]");
    process.exit(2);
  }
  const baseUrl = process.env.BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
  try {
    const { status, body } = await sendPayment({
      baseUrl,
      secret: webhookSecret(),
      orderId,
      amount: Number(amount),
      outcome: outcome as PaymentOutcome,
      currency: process.env.CURRENCY,
    });
    console.log(status, body);
    process.exit(status >= 200 && status < 300 ? 0 : 1);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    console.error(
      cause?.code === "ECONNREFUSED"
        ? `Nothing answers on ${baseUrl}: start the stack first (npm run dev).`
        : String(err),
    );
    process.exit(1);
  }
}
