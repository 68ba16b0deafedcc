// User tokens from an identity provider's key set (docs/API.md, 2. Identity): a real JWKS
// endpoint served over HTTP (test/support/jwks-server.ts), keys generated and tokens signed
// with jose, the Worker's app called with JWT_JWKS_URL, JWT_ISSUER and JWT_AUDIENCE set.
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { putSku, unique } from "../support/worker";
import { bearer, callWith, IdentityProvider } from "../support/identity-provider";

const now = () => Math.floor(Date.now() / 1000);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Moves this isolate's clock (Date) ahead; the key set's timeouts stay real. */
function moveClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + ms });
}

/** The user's cart as a valid token sees it: what a refused request must not have touched. */
async function cartLines(provider: IdentityProvider, kid: string, sub: string): Promise<number> {
  const cart = await callWith(provider.env(), "/v1/cart", { headers: bearer(await provider.token(kid, { sub })) });
  expect(cart.status, JSON.stringify(cart.body)).toBe(200);
  return cart.body.items.length;
}

describe("tokens from the identity provider's key set", () => {
  it("accepts RS256, ES256 and EdDSA tokens as the user named by `sub`, an Auth0-style id included", async () => {
    const idp = new IdentityProvider();
    const kids = [await idp.newKey("RS256"), await idp.newKey("ES256"), await idp.newKey("EdDSA")];
    await idp.publish(...kids);
    for (const kid of kids) {
      const sub = `auth0|${unique("u")}`;
      const reply = await callWith(idp.env(), "/v1/cart", { headers: bearer(await idp.token(kid, { sub })) });
      expect(reply.status, `${kid}: ${JSON.stringify(reply.body)}`).toBe(200);
      expect(reply.body.cartId).toBe(`user:${sub}`);
    }
    // One fetch served all three keys, and every later token used the isolate's copy.
    expect(await idp.fetches()).toBe(1);
  });

  it("refuses every other token with 401, a problem body and a reason, and changes nothing", async () => {
    const idp = new IdentityProvider();
    const kid = await idp.newKey("RS256");
    const outsider = await idp.newKey("RS256"); // a real key pair the provider never publishes
    await idp.publish(kid);
    const sku = await putSku(unique("idp"));
    const sub = unique("victim");
    const published = idp.publicJwk(kid);
    const b64 = (value: unknown) =>
      btoa(JSON.stringify(value)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
    const claims = { iss: idp.issuer, aud: idp.audience, sub, iat: now(), exp: now() + 600 };
    const hs256 = (secret: Uint8Array, header: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", ...header }).sign(secret);
    const outsiderToken = await idp.token(outsider, { sub });
    const [head, , signature] = (await idp.token(kid, { sub })).split(".");

    const refused: [string, string, RegExp][] = [
      ["another audience", await idp.token(kid, { sub, aud: "https://another-app.example.com" }), /aud/],
      ["another issuer", await idp.token(kid, { sub, iss: "https://other-tenant.example.com/" }), /iss/],
      ["a key the set does not hold", outsiderToken, /kid/],
      [
        "a key the set does not hold, claiming a published kid",
        await idp.token(outsider, { sub }, { kid }),
        /signature/,
      ],
      ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`, /alg/],
      ["HS256 with the development secret", await hs256(new TextEncoder().encode("test-jwt-secret")), /alg/],
      // The classic confusion: an HMAC keyed with the provider's public key, which anyone can fetch.
      [
        "HS256 keyed with the published public key",
        await hs256(new TextEncoder().encode(JSON.stringify(published)), { kid }),
        /alg/,
      ],
      ["expired (past the 30 s skew)", await idp.token(kid, { sub, exp: now() - 45 }), /expired/],
      ["not valid yet (past the skew)", await idp.token(kid, { sub, nbf: now() + 120 }), /nbf/],
      ["issued in the future (past the skew)", await idp.token(kid, { sub, iat: now() + 120 }), /iat/],
      ["no exp", await idp.token(kid, { sub, exp: undefined }), /exp/],
      ["no sub", await idp.token(kid, { sub: undefined }), /sub/],
      [
        "a valid token with another payload",
        `${head}.${b64({ ...claims, exp: now() + 86_400 })}.${signature}`,
        /signature/,
      ],
    ];
    for (const [what, token, reason] of refused) {
      const reply = await callWith(idp.env(), "/v1/cart/items", {
        headers: bearer(token),
        body: { skuId: sku, quantity: 1 },
      });
      expect(reply.status, `${what}: ${JSON.stringify(reply.body)}`).toBe(401);
      expect(reply.headers.get("content-type"), what).toBe("application/problem+json");
      expect(reply.body.code, what).toBe("UNAUTHORIZED");
      expect(reply.body.detail, what).toMatch(reason);
    }
    expect(await cartLines(idp, kid, sub)).toBe(0);
    // The same add with a valid token does write: the refusals above were what kept the cart empty.
    const added = await callWith(idp.env(), "/v1/cart/items", {
      headers: bearer(await idp.token(kid, { sub })),
      body: { skuId: sku, quantity: 1 },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(await cartLines(idp, kid, sub)).toBe(1);
  });

  it("allows 30 s of clock skew on exp, nbf and iat, and no more", async () => {
    const idp = new IdentityProvider();
    const kid = await idp.newKey("ES256");
    await idp.publish(kid);
    const status = async (claims: Record<string, number>) =>
      (
        await callWith(idp.env(), "/v1/cart", {
          headers: bearer(await idp.token(kid, { sub: unique("skew"), ...claims })),
        })
      ).status;
    expect(await status({ exp: now() - 20 })).toBe(200);
    expect(await status({ exp: now() - 40 })).toBe(401);
    expect(await status({ nbf: now() + 20 })).toBe(200);
    expect(await status({ nbf: now() + 40 })).toBe(401);
    expect(await status({ iat: now() + 20 })).toBe(200);
    expect(await status({ iat: now() + 40 })).toBe(401);
  });

  it("picks up a rotated key without a restart: the new kid after one refetch, the old one refused", async () => {
    const idp = new IdentityProvider();
    const before = await idp.newKey("RS256");
    const after = await idp.newKey("RS256");
    await idp.publish(before);
    const oldToken = await idp.token(before, { sub: unique("rotating") });
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(oldToken) })).status).toBe(200);
    expect(await idp.fetches()).toBe(1);

    await idp.publish(after); // the provider rotates: `before` is gone, `after` is served
    const newToken = await idp.token(after, { sub: unique("rotated") });
    // Within the 30 s cooldown an unknown kid refetches nothing: made-up kids cannot flood the provider.
    const early = await callWith(idp.env(), "/v1/cart", { headers: bearer(newToken) });
    expect(early.status).toBe(401);
    expect(early.body.detail).toMatch(/kid/);
    expect(await idp.fetches()).toBe(1);

    moveClock(31_000);
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(newToken) })).status).toBe(200);
    expect(await idp.fetches()).toBe(2);
    // The token verified under the old keys is checked again against the new set, and refused; so is a fresh one.
    const stale = await callWith(idp.env(), "/v1/cart", { headers: bearer(oldToken) });
    expect(stale.status).toBe(401);
    expect(stale.body.detail).toMatch(/kid/);
    const freshOld = await idp.token(before, { sub: unique("old-key") });
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(freshOld) })).status).toBe(401);
    expect(await idp.fetches()).toBe(2);
  });

  it("never reuses a verified token under another configuration", async () => {
    const idp = new IdentityProvider();
    const kid = await idp.newKey("EdDSA");
    await idp.publish(kid);
    const token = await idp.token(kid, { sub: unique("cached") });
    const cart = (on: Env) => callWith(on, "/v1/cart", { headers: bearer(token) });
    expect((await cart(idp.env())).status).toBe(200);
    // The same token, now cached, under an audience or issuer it was not minted for.
    const otherAudience = await cart(idp.env({ JWT_AUDIENCE: "https://another-app.example.com" }));
    expect(otherAudience.status).toBe(401);
    expect(otherAudience.body.detail).toMatch(/aud/);
    expect((await cart(idp.env({ JWT_ISSUER: "https://other-tenant.example.com/" }))).status).toBe(401);
    // A list of audiences that names this API takes it.
    expect((await cart(idp.env({ JWT_AUDIENCE: `https://another-app.example.com, ${idp.audience}` }))).status).toBe(
      200,
    );
    // Without the key set (development, HS256 with JWT_SECRET) the provider's token is not a user.
    const hs256Only = await cart({ ...env } as Env);
    expect(hs256Only.status).toBe(401);
    expect(hs256Only.body.detail).toMatch(/alg/);
  });
});

describe("the key set cannot be fetched", () => {
  const failures: [string, (idp: IdentityProvider) => Promise<Env>][] = [
    ["connection refused", async (idp) => idp.env({ JWT_JWKS_URL: `${inject("jwksRefusedUrl")}?${idp.name}` })],
    ["connection dropped", async (idp) => (await idp.steer({ failure: "close" }), idp.env())],
    ["a 5xx", async (idp) => (await idp.steer({ failure: "status500" }), idp.env())],
    ["a body that is not JSON", async (idp) => (await idp.steer({ failure: "notJson" }), idp.env())],
    ["slower than the timeout", async (idp) => (await idp.steer({ delayMs: 2_000 }), idp.env())],
  ];

  for (const [what, breakIt] of failures) {
    it(`${what}: a fast 503 DEPENDENCY_UNAVAILABLE with Retry-After that writes nothing, accepted once the key set is back`, async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      const idp = new IdentityProvider();
      const kid = await idp.newKey("ES256");
      await idp.publish(kid);
      const sku = await putSku(unique("down"));
      const sub = unique("waiting");
      const token = await idp.token(kid, { sub });
      const on = await breakIt(idp);
      for (let i = 0; i < 2; i++) {
        const reply = await callWith(on, "/v1/cart/items", {
          headers: bearer(token),
          body: { skuId: sku, quantity: 1 },
        });
        expect(reply.status, JSON.stringify(reply.body)).toBe(503);
        expect(reply.headers.get("content-type")).toBe("application/problem+json");
        expect(reply.body.code).toBe("DEPENDENCY_UNAVAILABLE");
        expect(reply.body.detail).toMatch(/key set/);
        expect(reply.headers.get("retry-after")).toBe("5");
        // The fetch gives up after JWT_JWKS_TIMEOUT_MS (300 ms here), whatever the provider does.
        expect(reply.ms).toBeLessThan(1_500);
      }
      const fetchesBefore = await idp.fetches();
      const health = await callWith(on, "/healthz");
      expect(health.body.status).toBe("degraded");
      expect(health.body.checks.auth).toMatch(/^key set unavailable: /);
      // Health probes during an outage repeat the last failure for a few seconds instead of fetching again.
      expect(await idp.fetches()).toBe(fetchesBefore);
      // Logged once per outage, not once per request.
      expect(warn.mock.calls.filter(([line]) => String(line).includes("key set"))).toHaveLength(1);

      await idp.publish(kid);
      const well = idp.env();
      expect(await cartLines(idp, kid, sub)).toBe(0);
      const added = await callWith(well, "/v1/cart/items", {
        headers: bearer(token),
        body: { skuId: sku, quantity: 1 },
      });
      expect(added.status, JSON.stringify(added.body)).toBe(200);
    });
  }

  it("keys already fetched keep working while the provider is down, until they are 10 minutes old", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const idp = new IdentityProvider();
    const kid = await idp.newKey("RS256");
    await idp.publish(kid);
    const first = await idp.token(kid, { sub: unique("steady") });
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(first) })).status).toBe(200);
    await idp.steer({ failure: "status500" });
    const second = await idp.token(kid, { sub: unique("steady") });
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(second) })).status).toBe(200);
    moveClock(601_000);
    const third = await idp.token(kid, { sub: unique("steady") });
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(third) })).status).toBe(503);
    // Even a token verified before: the keys it was checked against are past their age.
    expect((await callWith(idp.env(), "/v1/cart", { headers: bearer(first) })).status).toBe(503);
  });
});

describe("a key set without its issuer or audience", () => {
  const cases: [string, (idp: IdentityProvider) => Env, RegExp][] = [
    ["JWT_ISSUER missing", (idp) => idp.env({ JWT_ISSUER: undefined }), /JWT_ISSUER is not set/],
    ["JWT_AUDIENCE empty", (idp) => idp.env({ JWT_AUDIENCE: " " }), /JWT_AUDIENCE is not set/],
    ["JWT_JWKS_URL over plain http", (idp) => idp.env({ JWT_JWKS_URL: "http://idp.example.com/jwks.json" }), /https/],
  ];
  for (const [what, configure, problem] of cases) {
    it(`${what}: user tokens refused naming the setting, guests served, /healthz degraded, logged once`, async () => {
      const error = vi.spyOn(console, "error").mockImplementation(() => {});
      const idp = new IdentityProvider();
      const kid = await idp.newKey("RS256");
      await idp.publish(kid);
      const on = configure(idp);
      for (let i = 0; i < 2; i++) {
        const user = await callWith(on, "/v1/cart", { headers: bearer(await idp.token(kid)) });
        expect(user.status).toBe(401);
        expect(user.body.detail).toMatch(problem);
      }
      expect((await callWith(on, "/v1/cart", { headers: { "x-cart-id": crypto.randomUUID() } })).status).toBe(200);
      const health = await callWith(on, "/healthz");
      expect(health.body.status).toBe("degraded");
      expect(health.body.checks.auth).toMatch(/^misconfigured: /);
      expect(health.body.checks.auth).toMatch(problem);
      expect(error.mock.calls.filter(([line]) => String(line).includes("user sign-in"))).toHaveLength(1);
      // Nothing was fetched: a misconfigured Worker does not trust, or even ask, the key set.
      expect(await idp.fetches()).toBe(0);
    });
  }
});
