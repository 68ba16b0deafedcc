// The Worker's log lines: what redaction takes out (src/log/redact.ts) and how the local
// stack prints them (dev/log-lines.ts).
import { describe, expect, it } from "vitest";
import { formatLogLine, logFormat, parseLogLine } from "../../dev/log-lines.ts";
import { REDACTED, redact, redactText } from "../../src/log/redact.ts";

describe("redaction", () => {
  const jwt =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVz_x-y";

  it("drops the value of every field whose name says it holds a credential", () => {
    const line = redact({
      msg: "webhook",
      authorization: "Bearer abc",
      headers: { Authorization: "Basic dXNlcjpwYXNz", "Stripe-Signature": "t=1,v1=ab", "x-cart-id": "c1" },
      paymentSignature: "t=1700000000,v1=00ff",
      adminToken: "dev-admin-token",
      webhookSecret: "s3cr3t-value",
      apiKey: "k",
      password: "hunter2",
      cartKey: "user:alice",
      outcome: "ok",
    });
    expect(line).toEqual({
      msg: "webhook",
      authorization: REDACTED,
      headers: { Authorization: REDACTED, "Stripe-Signature": REDACTED, "x-cart-id": "c1" },
      paymentSignature: REDACTED,
      adminToken: REDACTED,
      webhookSecret: REDACTED,
      apiKey: REDACTED,
      password: REDACTED,
      cartKey: "user:alice",
      outcome: "ok",
    });
  });

  it("takes credential-shaped text out of free text", () => {
    const cases: [string, string][] = [
      ["sent Authorization: Bearer abc.def-ghi, then", `sent Authorization: Bearer ${REDACTED}, then`],
      [`token ${jwt} refused`, `token ${REDACTED} refused`],
      ["key sk_test_51AbCdEf and sk_live_9z", `key ${REDACTED} and ${REDACTED}`],
      ["signing secret whsec_test_edge_cart", `signing secret ${REDACTED}`],
      ["Payment-Signature t=1700000000,v1=9f86d081884c7d65 bad", `Payment-Signature ${REDACTED} bad`],
      ["Stripe-Signature: t=1,v1=abcdef0123456789abcd,v0=0123456789abcdef0", `Stripe-Signature: ${REDACTED}`],
      ["postgres://app:pa55word@db.example.com/shop", `postgres://app:${REDACTED}@db.example.com/shop`],
      ["GET /v1/cart/live?token=abc.def&x=1", `GET /v1/cart/live?token=${REDACTED}&x=1`],
    ];
    for (const [text, expected] of cases) expect(redactText(text)).toBe(expected);
  });

  it("replaces every exact secret value the Worker runs with, wherever it appears", () => {
    const secrets = ["dev-admin-token-123", "my-jwt-secret"];
    const line = redact(
      { msg: "refused dev-admin-token-123", detail: ["x my-jwt-secret y"], error: new Error("bad my-jwt-secret") },
      secrets,
    );
    expect(JSON.stringify(line)).not.toMatch(/dev-admin-token-123|my-jwt-secret/);
    expect(line).toEqual({
      msg: `refused ${REDACTED}`,
      detail: [`x ${REDACTED} y`],
      error: `bad ${REDACTED}`,
    });
  });

  it("leaves ordinary fields alone", () => {
    const fields = {
      requestId: "5b0f3c9e-2d7a",
      actor: "sku:sku-1~3",
      eventId: "0d6f2a7e",
      outcome: "SOLD_OUT",
      durationMs: 12,
      path: "/v1/flash/sku-1/orders",
    };
    expect(redact(fields)).toEqual(fields);
  });
});

describe("the local stack's log printer", () => {
  const raw = JSON.stringify({
    level: "warn",
    msg: "placeCheckout",
    requestId: "r-1",
    actor: "order:ord_1",
    outcome: "OUT_OF_STOCK",
    durationMs: 35,
    skus: 2,
    detail: "two words",
  });

  it("prints a line readably: the request id and actor first, the outcome and duration last", () => {
    expect(formatLogLine(raw, { format: "pretty", color: false })).toBe(
      'WARN  placeCheckout  req=r-1 actor=order:ord_1 skus=2 detail="two words" outcome=OUT_OF_STOCK 35ms',
    );
  });

  it("colours by level on a terminal", () => {
    const red = formatLogLine(JSON.stringify({ level: "error", msg: "boom" }), { format: "pretty", color: true });
    const cyan = formatLogLine(JSON.stringify({ level: "info", msg: "ok" }), { format: "pretty", color: true });
    expect(red).toContain("\x1b[31mERROR");
    expect(cyan).toContain("\x1b[36mINFO");
  });

  it("passes the raw JSON through with LOG_FORMAT=json, and other lines untouched", () => {
    expect(logFormat({ LOG_FORMAT: "json" })).toBe("json");
    expect(logFormat({})).toBe("pretty");
    expect(formatLogLine(raw, { format: "json", color: true })).toBe(raw);
    const wrangler = "[wrangler:info] GET /healthz 200 OK (3ms)";
    expect(formatLogLine(wrangler, { format: "pretty", color: true })).toBe(wrangler);
    expect(parseLogLine('{"not":"ours"}')).toBeNull();
  });
});
