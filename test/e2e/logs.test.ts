// Structured logs on the real local stack: one checkout's request id appears on the Worker's
// request line, on the order actor's line for the call and on the consumer's line for the
// event it wrote; and no token, secret or signature appears anywhere in the Worker's output.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLogLine } from "../../dev/log-lines.ts";
import { eventually, newId, signPayment, startE2eStack, userToken, type E2eStack } from "../support/e2e.ts";

type Line = Record<string, unknown>;

describe("structured logs", () => {
  let stack: E2eStack;
  const output: string[] = [];
  const lines = (): Line[] => output.map(parseLogLine).filter((l): l is Line => l !== null);
  const sku = newId("sku-logs");
  const userId = newId("buyer");
  const requestId = `e2e-logs-${randomUUID()}`;
  let token: string;
  let orderId: string;
  let signature: string;

  beforeAll(async () => {
    // This file reads the Worker's info lines: wrangler must print them (vitest.config.ts quiets it to warn).
    process.env.WRANGLER_LOG = "log";
    stack = await startE2eStack({ onWorkerLine: (line) => output.push(line) });
    token = await userToken(stack.secrets.JWT_SECRET, userId);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it("a checkout's request id is on the Worker's line, the order actor's line and the consumer's line", async () => {
    const user = { authorization: `Bearer ${token}` };
    const created = await stack.api.putSku(sku, {
      productId: "prod-logs",
      name: "Logged item",
      merchantId: "m-logs",
      price: 500,
      stock: 5,
    });
    expect(created.status, created.text).toBe(201);
    expect((await stack.api.post("/v1/cart/items", { skuId: sku, quantity: 2 }, user)).status).toBe(200);

    const checkout = await stack.api.post(
      "/v1/checkout",
      {},
      { ...user, "idempotency-key": "logs-1", "x-request-id": requestId },
    );
    expect(checkout.status, checkout.text).toBe(201);
    expect(checkout.headers.get("x-request-id")).toBe(requestId);
    orderId = checkout.body.orderId;

    await eventually(
      () => {
        const mine = lines().filter((l) => l.requestId === requestId);
        // The Worker: one line for the request, with its outcome and duration.
        expect(mine).toContainEqual(
          expect.objectContaining({
            level: "info",
            msg: "request",
            method: "POST",
            path: "/v1/checkout",
            status: 201,
            outcome: "ok",
            durationMs: expect.any(Number),
          }),
        );
        // The order actor: its line for the call, named by the actor.
        expect(mine).toContainEqual(
          expect.objectContaining({
            msg: "placeCheckout",
            actor: `order:${orderId}`,
            outcome: "ok",
            durationMs: expect.any(Number),
          }),
        );
        // A SKU actor the order actor called in turn: the id travelled one hop further.
        expect(mine).toContainEqual(expect.objectContaining({ actor: `sku:${sku}~0`, outcome: "ok" }));
        // The consumer: the line of the order.created event it applied to Postgres.
        expect(mine).toContainEqual(
          expect.objectContaining({
            msg: "event applied",
            type: "order.created",
            actor: `order:${orderId}`,
            eventId: expect.any(String),
            outcome: "applied",
          }),
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it("answers with its own X-Request-Id when the incoming one is malformed, and logs refusals with their code", async () => {
    const res = await stack.api.get("/v1/no-such-route", { "x-request-id": "not a valid id" });
    expect(res.status).toBe(404);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[\w-]+$/);
    expect(id).not.toBe("not a valid id");
    expect(res.body.requestId).toBe(id);
    await eventually(() =>
      expect(lines()).toContainEqual(
        expect.objectContaining({ msg: "request", requestId: id, status: 404, outcome: "NOT_FOUND" }),
      ),
    );
  });

  it("never logs a token, a secret or a signature", async () => {
    // Requests that carry credentials, good and bad, through the paths that log.
    const forged = await userToken("not-the-secret", userId);
    expect((await stack.api.get("/v1/cart", { authorization: `Bearer ${forged}` })).status).toBe(401);
    expect((await stack.api.get("/v1/admin/skus/none", { authorization: "Bearer wrong-admin-token" })).status).toBe(
      403,
    );
    const paid = {
      eventId: `evt_${randomUUID()}`,
      type: "payment.succeeded" as const,
      orderId,
      transactionId: `txn_${randomUUID()}`,
      amount: 1000,
      currency: "USD",
    };
    const raw = JSON.stringify(paid);
    signature = signPayment(raw, stack.secrets.PAYMENT_WEBHOOK_SECRET);
    const forgedSignature = signPayment(raw, "not-the-webhook-secret");
    expect(
      (
        await stack.api.request("POST", "/v1/payments/webhook", {
          headers: { "payment-signature": forgedSignature },
          body: raw,
        })
      ).status,
    ).toBe(401);
    const pay = await stack.api.request("POST", "/v1/payments/webhook", {
      headers: { "payment-signature": signature },
      body: raw,
    });
    expect(pay.status, pay.text).toBe(200);
    await eventually(
      () => expect(lines()).toContainEqual(expect.objectContaining({ msg: "event applied", type: "order.paid" })),
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    const log = output.join("\n");
    const secrets = {
      ...stack.secrets,
      userToken: token,
      forgedToken: forged,
      signature,
      forgedSignature,
      adminAttempt: "wrong-admin-token",
    };
    for (const [name, value] of Object.entries(secrets))
      expect(log.includes(value), `${name} is in the log`).toBe(false);
    expect(log).not.toMatch(/Bearer\s+(?!\[redacted\])\S/);
    expect(log).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    // And what was read is the Worker's structured output: every line it wrote is one JSON object.
    expect(lines().length).toBeGreaterThan(10);
  });
});
