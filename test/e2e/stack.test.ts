// The whole local stack over real HTTP: health, the catalog round trip into Postgres, the
// OpenAPI document, and malformed requests that must get a 4xx problem, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, isProblem, newId, startE2eStack, type E2eStack, type SkuInput } from "../support/e2e.ts";

let stack: E2eStack;

/** The SKU the catalog round trip PUTs, twice. */
const STACK_TEE: SkuInput = {
  productId: "prod-stack",
  name: "Stack Tee",
  merchantId: "m-1",
  price: 1999,
  stock: 7,
  purchaseLimit: 3,
};

beforeAll(async () => {
  stack = await startE2eStack();
  console.log(`[e2e] stack started in ${stack.startSeconds.toFixed(1)} s at ${stack.baseUrl}`);
});

afterAll(async () => {
  await stack?.stop();
});

describe("local stack", () => {
  it("GET /healthz: ok, with Postgres and Redis ok", async () => {
    const res = await stack.api.get("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "ok",
      checks: { postgres: "ok", redis: "ok", inventory: "ok", auth: "ok (HS256 with JWT_SECRET)" },
    });
  });

  it("PUT a SKU, read it back publicly, and find it in Postgres with its price", async () => {
    const skuId = newId("sku-stack");
    const put = await stack.api.putSku(skuId, STACK_TEE);
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      skuId,
      price: 1999,
      currency: "USD",
      onHand: 7,
      reserved: 0,
      sold: 0,
      available: 7,
    });

    const pub = await stack.api.get(`/v1/skus/${skuId}`);
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({
      skuId,
      name: "Stack Tee",
      price: 1999,
      currency: "USD",
      status: "active",
      available: 7,
      purchaseLimit: 3,
    });
    expect(pub.body).not.toHaveProperty("onHand"); // the public view hides the counters

    // An identical PUT is an update (200), not a second creation.
    const again = await stack.api.putSku(skuId, STACK_TEE);
    expect(again.status).toBe(200);

    const row = await eventually(
      async () => {
        const { rows } = await stack.db.query(
          "select price, currency, status, on_hand, purchase_limit from skus where sku_id = $1",
          [skuId],
        );
        expect(rows).toHaveLength(1);
        return rows[0];
      },
      { timeoutMs: 15_000 },
    );
    expect(row).toEqual({ price: 1999, currency: "USD", status: "active", on_hand: 7, purchase_limit: 3 });
  });

  it("GET /openapi.json is an OpenAPI 3.1 document with the cart and checkout paths", async () => {
    const res = await stack.api.get("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(res.body.openapi).toMatch(/^3\.1\./);
    expect(res.body.info?.title).toEqual(expect.any(String));
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(["/v1/cart", "/v1/checkout", "/v1/flash/{skuId}/orders", "/v1/payments/webhook"]),
    );
    expect(res.body.paths["/v1/checkout"].post).toBeDefined();
    expect(res.body.paths["/v1/cart"].get).toBeDefined();
  });

  describe("malformed requests get a 4xx problem+json, never a 5xx", () => {
    const guest = { "x-cart-id": "7b0c3f4e-2a51-4c1e-9d7e-3f1a2b4c5d6e" };
    const cases: {
      name: string;
      method: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
      contentType?: string;
      status: number;
      code: string;
    }[] = [
      {
        name: "bad JSON",
        method: "POST",
        path: "/v1/cart/items",
        headers: guest,
        body: "{not json",
        status: 400,
        code: "VALIDATION_FAILED",
      },
      {
        name: "wrong body shape",
        method: "POST",
        path: "/v1/cart/items",
        headers: guest,
        body: JSON.stringify({ skuId: "x", quantity: 0 }),
        status: 400,
        code: "VALIDATION_FAILED",
      },
      {
        name: "unknown field",
        method: "POST",
        path: "/v1/cart/items",
        headers: guest,
        body: JSON.stringify({ skuId: "x", quantity: 1, evil: true }),
        status: 400,
        code: "VALIDATION_FAILED",
      },
      { name: "unknown route", method: "GET", path: "/v1/nope", status: 404, code: "NOT_FOUND" },
      { name: "missing auth on the cart", method: "GET", path: "/v1/cart", status: 401, code: "UNAUTHORIZED" },
      {
        name: "guest id that is not a UUID",
        method: "GET",
        path: "/v1/cart",
        headers: { "x-cart-id": "not-a-uuid" },
        status: 400,
        code: "VALIDATION_FAILED",
      },
      {
        name: "garbage JWT",
        method: "GET",
        path: "/v1/cart",
        headers: { authorization: "Bearer abc.def.ghi" },
        status: 401,
        code: "UNAUTHORIZED",
      },
      {
        name: "missing admin token",
        method: "PUT",
        path: "/v1/admin/skus/sku-x",
        body: "{}",
        status: 401,
        code: "UNAUTHORIZED",
      },
      {
        name: "wrong admin token",
        method: "GET",
        path: "/v1/admin/skus/sku-x",
        headers: { authorization: "Bearer nope" },
        status: 403,
        code: "FORBIDDEN",
      },
      {
        name: "flash buy without a user",
        method: "POST",
        path: "/v1/flash/sku-x/orders",
        headers: { ...guest, "idempotency-key": "k1" },
        body: JSON.stringify({ quantity: 1 }),
        status: 401,
        code: "UNAUTHORIZED",
      },
      {
        name: "checkout without Idempotency-Key",
        method: "POST",
        path: "/v1/checkout",
        headers: guest,
        body: "{}",
        status: 400,
        code: "VALIDATION_FAILED",
      },
      {
        name: "unsigned webhook",
        method: "POST",
        path: "/v1/payments/webhook",
        body: JSON.stringify({ eventId: "e" }),
        status: 401,
        code: "UNAUTHORIZED",
      },
      {
        name: "malformed order id",
        method: "GET",
        path: "/v1/orders/..%2F..%2Fetc",
        headers: guest,
        status: 404,
        code: "NOT_FOUND",
      },
      {
        name: "text body",
        method: "POST",
        path: "/v1/cart/items",
        headers: guest,
        body: "skuId=x",
        contentType: "text/plain",
        status: 415,
        code: "UNSUPPORTED_MEDIA_TYPE",
      },
      {
        name: "too large a body",
        method: "POST",
        path: "/v1/cart/items",
        headers: guest,
        body: JSON.stringify({ skuId: "x", pad: "a".repeat(70_000) }),
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
      },
    ];
    it.each(cases)("$name -> $status $code", async (c) => {
      const res = await stack.api.request(c.method, c.path, {
        headers: c.headers,
        body: c.body,
        contentType: c.contentType,
      });
      expect(res.status, res.text).toBe(c.status);
      expect(isProblem(res), res.text).toBe(true);
      expect(res.body.code).toBe(c.code);
      expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack trace
    });
  });
});
