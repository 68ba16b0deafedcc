import { describe, expect, it } from "vitest";
import { api, userToken } from "../support/worker";

describe("user tokens", () => {
  it("a token verified once is refused as soon as it expires, and a tampered copy never rides on it", async () => {
    const token = await userToken("short-lived", 5);
    const headers = { authorization: `Bearer ${token}` };
    const first = await api("/v1/cart", { headers });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const [head, payload] = token.split(".");
    const forged = `${head}.${payload}.${"A".repeat(43)}`;
    expect((await api("/v1/cart", { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 5_200));
    const late = await api("/v1/cart", { headers });
    expect(late.status).toBe(401);
    expect(late.body.detail).toMatch(/expired/);
  });
});
