import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { ADMIN, api, asUser, putSku } from "../support/worker";

describe("operations", () => {
  it("/healthz reports Postgres, Redis and user sign-in", async () => {
    const res = await api("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: "ok",
      checks: { postgres: "ok", redis: "ok", inventory: expect.any(String), auth: "ok (HS256 with JWT_SECRET)" },
    });
    const broken = {
      ...env,
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/x",
      UPSTASH_REDIS_REST_URL: undefined,
    } as Env;
    const degraded = await app.fetch(new Request("http://x/healthz"), broken, createExecutionContext());
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toEqual({
      status: "degraded",
      checks: {
        postgres: "unavailable",
        redis: "disabled (snapshots off)",
        inventory: "unknown",
        auth: "ok (HS256 with JWT_SECRET)",
      },
    });
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas, and the docs page", async () => {
    const doc = (await api("/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v1/cart",
      "/v1/cart/items",
      "/v1/cart/items/{skuId}",
      "/v1/checkout",
      "/v1/flash/{skuId}/orders",
      "/v1/payments/webhook",
      "/v1/admin/skus/{skuId}",
      "/healthz",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const add = doc.paths["/v1/cart/items"].post;
    expect(add.requestBody.content["application/json"].schema.properties.quantity).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 999,
    });
    expect(Object.keys(add.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "409", "412", "413", "429"]),
    );
  });

  it("/docs without the asset layer: the Worker points at the built reference (test/dev/docs-assets.test.ts covers the assets)", async () => {
    // Here requests reach the Worker directly; under wrangler and in production the files in public/docs/ answer first.
    const redirect = await exports.default.fetch(new Request("http://edge-cart.test/docs", { redirect: "manual" }));
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe("/docs/");
    const page = await api("/docs/");
    expect(page.status).toBe(404);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(String(page.body)).toContain("npm run docs:build");
    expect((await api("/")).body).toMatchObject({ docs: "/docs/", openapi: "/openapi.json" });
  });

  it("every unknown route or method is a 404 problem that carries the request id", async () => {
    const res = await api("/v2/nothing");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "NOT_FOUND", title: "Not found" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
    expect((await api("/v1/cart", { method: "PUT", headers: { "x-cart-id": crypto.randomUUID() } })).status).toBe(404);
  });

  it("admin endpoints need the admin token: none is 401, another credential 403 (constant-time compared)", async () => {
    const sku = await putSku();
    expect((await api(`/v1/admin/skus/${sku}`)).status).toBe(401);
    expect((await api(`/v1/admin/skus/${sku}`, { headers: { authorization: "Basic abc" } })).status).toBe(401);
    const wrong = await api(`/v1/admin/skus/${sku}`, { headers: { authorization: "Bearer nope" } });
    expect(wrong).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    const user = await asUser();
    expect((await api(`/v1/admin/skus/${sku}`, { headers: user.headers })).status).toBe(403);
    expect((await api(`/v1/admin/skus/${sku}`, { headers: ADMIN })).status).toBe(200);
    expect((await api("/v1/admin/skus/nope-sku", { headers: ADMIN })).status).toBe(404);
  });

  it("refuses admin and webhook calls while their secrets are unset", async () => {
    const unset = { ...env, ADMIN_TOKEN: "", PAYMENT_WEBHOOK_SECRET: "" } as Env;
    const call = (path: string, init: RequestInit) =>
      app.fetch(new Request(`http://x${path}`, init), unset, createExecutionContext());
    const admin = await call("/v1/admin/skus/abc", { headers: { authorization: "Bearer " } });
    expect(admin.status).toBe(403);
    const hook = await call("/v1/payments/webhook", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(hook.status).toBe(403);
    expect(((await hook.json()) as { detail: string }).detail).toMatch(/PAYMENT_WEBHOOK_SECRET/);
  });

  it("validates admin SKU bodies and paths", async () => {
    const bad: unknown[] = [
      {},
      { productId: "p", name: "n", merchantId: "m", price: -1, status: "active", stock: 1 },
      { productId: "p", name: "n", merchantId: "m", price: 1, status: "on", stock: 1 },
      { productId: "p", name: "n", merchantId: "m", price: 1, status: "active", stock: 1, stripes: 65 },
      { productId: "p", name: "n", merchantId: "m", price: 1, status: "active", stock: 1, currency: "usd" },
      { productId: "p", name: "n", merchantId: "m", price: 1.5, status: "active", stock: 1 },
      { productId: "p", name: "n", merchantId: "m", price: 1, status: "active", stock: 1, colour: "red" },
    ];
    for (const body of bad) {
      const res = await api("/v1/admin/skus/ok-sku", { method: "PUT", headers: ADMIN, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    const badId = await api("/v1/admin/skus/has%20space", { method: "PUT", headers: ADMIN, body: {} });
    expect(badId.status).toBe(400);
    expect((await api("/v1/admin/skus/ok-sku", { headers: ADMIN })).status).toBe(404);
  });

  it("lists products from Postgres", async () => {
    const merchantId = `m-${crypto.randomUUID().slice(0, 6)}`;
    const a = await putSku(undefined, { productId: `${merchantId}-shirt`, merchantId, price: 1000 });
    const b = await putSku(undefined, { productId: `${merchantId}-shirt`, merchantId, price: 1200 });
    await putSku(undefined, { productId: `${merchantId}-hat`, merchantId, status: "inactive" });
    const { eventually } = await import("../support/worker");
    const listing = await eventually(
      async () => {
        const res = await api(`/v1/products?merchantId=${merchantId}`);
        return res.body.items?.[0]?.skus?.length === 2 ? res.body : null;
      },
      20_000,
      "products listed",
    );
    expect(listing.items).toHaveLength(1);
    expect(listing.items[0]).toMatchObject({
      productId: `${merchantId}-shirt`,
      priceRange: { min: 1000, max: 1200, currency: "USD" },
    });
    expect(listing.items[0].skus.map((s: any) => s.skuId).sort()).toEqual([a, b].sort());
    expect((await api("/v1/products?limit=0")).status).toBe(400);
  });
});
