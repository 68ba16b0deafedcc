// HS256 user tokens with JWT_SECRET (development and the demo users), as the workers project
// runs: no key set configured. The identity provider's key set: identity-provider.test.ts.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, hmacSha256, userToken } from "../support/worker";
import { bearer, callWith } from "../support/identity-provider";

afterEach(() => {
  vi.useRealTimers();
});

describe("user tokens", () => {
  it("a verified token is accepted until its exp plus the 30 s skew, and a tampered copy never rides on its verification", async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await userToken("short-lived", 60);
    const headers = bearer(token);
    const first = await api("/v1/cart", { headers });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const [head, payload] = token.split(".");
    const forged = `${head}.${payload}.${"A".repeat(43)}`;
    expect((await api("/v1/cart", { headers: bearer(forged) })).status).toBe(401);
    // Move this isolate's clock instead of waiting: 29 s past exp is within the skew; 31 s is past it.
    vi.useFakeTimers({ toFake: ["Date"], now: (exp + 29) * 1000 });
    expect((await api("/v1/cart", { headers })).status).toBe(200);
    vi.setSystemTime((exp + 31) * 1000);
    const late = await api("/v1/cart", { headers });
    expect(late.status).toBe(401);
    expect(late.body.detail).toMatch(/expired/);
  });

  it("a token verified under one JWT_SECRET is not a user under another", async () => {
    const headers = bearer(await userToken("secret-bound"));
    expect((await callWith(env, "/v1/cart", { headers })).status).toBe(200);
    const rotated = await callWith({ ...env, JWT_SECRET: "rotated-jwt-secret" } as Env, "/v1/cart", { headers });
    expect(rotated.status).toBe(401);
    expect(rotated.body.detail).toMatch(/signature/);
    const unset = await callWith({ ...env, JWT_SECRET: undefined } as unknown as Env, "/v1/cart", { headers });
    expect(unset.status).toBe(401);
    expect(unset.body.detail).toMatch(/JWT_SECRET is not set/);
  });
});

describe("user token checks", () => {
  const b64 = (value: unknown) =>
    btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  const now = () => Math.floor(Date.now() / 1000);
  async function signed(header: unknown, claims: unknown, secret = "test-jwt-secret"): Promise<string> {
    const input = `${b64(header)}.${b64(claims)}`;
    const mac = await hmacSha256(secret, input);
    return `${input}.${btoa(String.fromCharCode(...mac))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "")}`;
  }
  const cartWith = (token: string) => api("/v1/cart", { headers: { authorization: `Bearer ${token}` } });

  it("accepts a well-formed HS256 token and refuses every other kind with 401 and a reason", async () => {
    const good = { sub: "checker", iat: now(), exp: now() + 600 };
    expect((await cartWith(await signed({ alg: "HS256", typ: "JWT" }, good))).status).toBe(200);
    const refused: [string, string][] = [
      ["signed with another secret", await signed({ alg: "HS256" }, good, "not-the-secret")],
      ["alg none", `${b64({ alg: "none" })}.${b64(good)}.`],
      ["another alg named in the header", await signed({ alg: "HS512" }, good)],
      ["not yet valid (nbf)", await signed({ alg: "HS256" }, { ...good, nbf: now() + 600 })],
      ["no exp", await signed({ alg: "HS256" }, { sub: "checker" })],
      ["sub not a user id", await signed({ alg: "HS256" }, { ...good, sub: "has spaces" })],
      ["payload not JSON", `${b64({ alg: "HS256" })}.bm90IGpzb24.AAAA`],
      ["two parts", "abc.def"],
    ];
    for (const [what, token] of refused) {
      const reply = await cartWith(token);
      expect(reply.status, what).toBe(401);
      expect(reply.body.type, what).toMatch(/unauthorized/i);
    }
    const expired = await cartWith(await signed({ alg: "HS256" }, { ...good, exp: now() - 31 }));
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toMatch(/expired/);
  });
});
