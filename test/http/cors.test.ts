import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { api, asGuest } from "../support/worker";

const SHOP = "https://shop.test"; // in ALLOWED_ORIGINS (vitest.config.ts)
const cors = (res: { headers: Headers }) => [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));

function preflight(
  origin: string,
  method = "POST",
  requestHeaders = "content-type,x-cart-id,idempotency-key,if-match,authorization",
) {
  return api("/v1/cart", {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": requestHeaders },
  });
}

/** The app under another environment (e.g. development), through its own fetch. */
async function fetchWith(vars: Partial<Env>, path: string, headers: Record<string, string>) {
  return app.fetch(
    new Request(`http://edge-cart.test${path}`, { headers }),
    { ...env, ...vars },
    createExecutionContext(),
  );
}

describe("CORS", () => {
  it("answers the preflight of an allowed origin: methods, the headers the API reads, the headers it exposes", async () => {
    const res = await preflight(SHOP, "PATCH");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(res.headers.get("access-control-allow-methods")?.split(",")).toEqual(
      expect.arrayContaining(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    );
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase().split(",");
    expect(allowed).toEqual(
      expect.arrayContaining(["authorization", "content-type", "x-cart-id", "idempotency-key", "if-match"]),
    );
    expect(res.headers.get("vary")).toMatch(/origin/i);
  });

  it("puts the headers on every answer to an allowed origin: success, errors (problem+json) and 429s", async () => {
    const guest = asGuest();
    const headers = { ...guest.headers, origin: SHOP };
    const ok = await api("/v1/cart", { headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(SHOP);
    expect(ok.headers.get("access-control-expose-headers")!.toLowerCase().split(",")).toEqual(
      expect.arrayContaining(["etag", "retry-after", "x-request-id"]),
    );
    const failures = [
      await api("/v1/cart", { headers: { origin: SHOP } }), // 401
      await api("/v1/nowhere", { headers: { origin: SHOP } }), // 404
      await api("/v1/cart/items", { headers, body: { skuId: "a\u0000", quantity: 1 } }), // 400
    ];
    for (const res of failures) {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.headers.get("access-control-allow-origin")).toBe(SHOP);
    }
    let limited = null;
    for (let i = 0; i < 40 && !limited; i++) {
      const res = await api("/v1/cart/items", { headers, body: {} });
      if (res.status === 429) limited = res;
    }
    expect(limited?.headers.get("retry-after")).toBeTruthy();
    expect(limited?.headers.get("access-control-allow-origin")).toBe(SHOP);
  });

  it("gives other origins no CORS header at all", async () => {
    for (const origin of ["https://evil.test", "https://shop.test.evil.test", "http://shop.test", "null"]) {
      expect(cors(await preflight(origin))).toEqual([]);
      expect(cors(await api("/v1/cart", { headers: { ...asGuest().headers, origin } }))).toEqual([]);
    }
    expect(cors(await api("/v1/cart", { headers: asGuest().headers }))).toEqual([]);
  });

  it("allows any http://localhost:* origin in development only", async () => {
    const headers = { ...asGuest().headers, origin: "http://localhost:5173" };
    const dev = await fetchWith({ ENVIRONMENT: "development" }, "/v1/cart", headers);
    expect(dev.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    const prod = await fetchWith({ ENVIRONMENT: "production" }, "/v1/cart", headers);
    expect(cors(prod)).toEqual([]);
    const lookalike = await fetchWith({ ENVIRONMENT: "development" }, "/v1/cart", {
      ...headers,
      origin: "http://localhost.evil.test",
    });
    expect(cors(lookalike)).toEqual([]);
    await Promise.all([dev.text(), prod.text(), lookalike.text()]);
  });

  it("keeps the live cart WebSocket working for an allowed origin", async () => {
    const res = await exports.default.fetch(
      new Request("http://edge-cart.test/v1/cart/live", {
        headers: { upgrade: "websocket", origin: SHOP, ...asGuest().headers },
      }),
    );
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close();
  });
});
