import { describe, expect, it } from "vitest";
import { api, asGuest, asUser } from "../support/worker";

/** A client address of our own, so no other test shares its bucket. */
const address = () => `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID().slice(0, 8)}`;

describe("buy-path rate limits", () => {
  it("limits guests per client address: a fresh X-Cart-Id per request does not escape it", async () => {
    const ip = address();
    const statuses: number[] = [];
    // 60 per 10 s per address in tests; 130 requests exceed it even across a window boundary
    for (let i = 0; i < 130; i++) {
      const res = await api("/v1/cart/items", { headers: { ...asGuest().headers, "cf-connecting-ip": ip }, body: {} });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("retry-after")).toBe("10");
        expect(res.body.code).toBe("RATE_LIMITED");
      }
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 429).every((s) => s === 400)).toBe(true);
  });

  it("does not limit logged-in users by address (they are limited per user)", async () => {
    const ip = address();
    const users = await Promise.all(Array.from({ length: 70 }, () => asUser()));
    const statuses: number[] = [];
    for (const user of users)
      statuses.push(
        (await api("/v1/cart/items", { headers: { ...user.headers, "cf-connecting-ip": ip }, body: {} })).status,
      );
    expect(statuses.filter((s) => s === 429)).toEqual([]);
  });
});
