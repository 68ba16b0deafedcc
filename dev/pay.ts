// `npm run pay -- <orderId> <amount> [succeeded|failed|refunded]`: plays the payment
// provider locally: signs a webhook with PAYMENT_WEBHOOK_SECRET and posts it.
import { createHmac, randomUUID } from "node:crypto";
import { readDevVars } from "./stack.ts";

const [orderId, amount, outcome = "succeeded"] = process.argv.slice(2);
if (!orderId || !amount) {
  console.error("usage: npm run pay -- <orderId> <amount in cents> [succeeded|failed|refunded]");
  process.exit(2);
}
const baseUrl = process.env.BASE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
const secret = readDevVars().PAYMENT_WEBHOOK_SECRET ?? "dev-webhook-secret";
const body = JSON.stringify({
  eventId: `evt_${randomUUID()}`,
  type: `payment.${outcome}`,
  orderId,
  transactionId: `tx_${randomUUID()}`,
  amount: Number(amount),
  currency: process.env.CURRENCY ?? "USD",
});
const t = Math.floor(Date.now() / 1000);
const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
const res = await fetch(`${baseUrl}/v1/payments/webhook`, {
  method: "POST",
  headers: { "content-type": "application/json", "payment-signature": `t=${t},v1=${v1}` },
  body,
});
console.log(res.status, await res.text());
