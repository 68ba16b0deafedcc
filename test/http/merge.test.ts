import { describe, expect, it } from "vitest";
import { api, asGuest, asUser, putSku, unique } from "../support/worker";

const items = (body: any) => body.items.map((i: any) => [i.skuId, i.quantity]);

async function cartWith(headers: Record<string, string>, lines: [string, number][]) {
  for (const [skuId, quantity] of lines) {
    const res = await api("/v1/cart/items", { headers, body: { skuId, quantity } });
    if (res.status !== 200) throw new Error(`add ${skuId}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

describe("merge on login", () => {
  const cases: [string, number][] = [
    ["sum", 5],
    ["max", 3],
    ["overwrite", 3],
    ["keep", 2],
  ];
  for (const [strategy, expected] of cases) {
    it(`${strategy}: conflicting line -> ${expected}, guest-only lines added, guest emptied`, async () => {
      const shared = await putSku(unique("shared"));
      const guestOnly = await putSku(unique("g"));
      const userOnly = await putSku(unique("u"));
      const user = await asUser();
      const guest = asGuest();
      await cartWith(user.headers, [
        [userOnly, 1],
        [shared, 2],
      ]);
      await cartWith(guest.headers, [
        [shared, 3],
        [guestOnly, 4],
      ]);

      const merged = await api("/v1/cart/merge", {
        headers: user.headers,
        body: { clientCartId: guest.cartId, strategy },
      });
      expect(merged.status).toBe(200);
      expect(items(merged.body)).toEqual([
        [userOnly, 1],
        [shared, expected],
        [guestOnly, 4],
      ]);
      expect(merged.body.merge).toMatchObject({ strategy, from: guest.cartKey, merged: 2, clamped: [] });
      expect(items((await api("/v1/cart", { headers: guest.headers })).body)).toEqual([]);

      // Repeating the call changes nothing.
      const again = await api("/v1/cart/merge", {
        headers: user.headers,
        body: { clientCartId: guest.cartId, strategy },
      });
      expect(again.body.version).toBe(merged.body.version);
      expect(again.body.merge).toBeNull();
      expect(items(again.body)).toEqual(items(merged.body));
    });
  }

  it("clamps by stock and purchase limit and reports the clamped lines", async () => {
    const scarce = await putSku(unique("scarce"), { stock: 4 });
    const limited = await putSku(unique("lim"), { purchaseLimit: 3 });
    const off = await putSku(unique("off"));
    const user = await asUser();
    const guest = asGuest();
    await cartWith(user.headers, [
      [scarce, 2],
      [limited, 2],
    ]);
    await cartWith(guest.headers, [
      [scarce, 3],
      [limited, 3],
      [off, 1],
    ]);
    await putSku(off, { status: "inactive" });
    const merged = await api("/v1/cart/merge", {
      headers: user.headers,
      body: { clientCartId: guest.cartId, strategy: "sum" },
    });
    expect(items(merged.body)).toEqual([
      [scarce, 4],
      [limited, 3],
    ]);
    expect(merged.body.merge.clamped).toEqual([
      { skuId: scarce, requested: 5, applied: 4, code: "OUT_OF_STOCK" },
      { skuId: limited, requested: 5, applied: 3, code: "LIMIT_EXCEEDED" },
      { skuId: off, requested: 1, applied: 0, code: "SKU_UNAVAILABLE" },
    ]);
  });

  it("does not take a guest line whose sale has not opened yet, as an add would not", async () => {
    const flash = await putSku(unique("soon"));
    const user = await asUser();
    const guest = asGuest();
    await cartWith(guest.headers, [[flash, 1]]);
    // The guest added it while it was on sale; then a flash sale was scheduled for it.
    await putSku(flash, { saleStartsAt: new Date(Date.now() + 3_600_000).toISOString() });
    const merged = await api("/v1/cart/merge", {
      headers: user.headers,
      body: { clientCartId: guest.cartId, strategy: "sum" },
    });
    expect(merged.status).toBe(200);
    expect(items(merged.body)).toEqual([]);
    expect(merged.body.merge.clamped).toEqual([{ skuId: flash, requested: 1, applied: 0, code: "SALE_NOT_STARTED" }]);
  });

  it("two logins at once never add twice and never lose a line", async () => {
    const a = await putSku(unique("a"));
    const b = await putSku(unique("b"));
    const user = await asUser();
    const guest = asGuest();
    await cartWith(user.headers, [[a, 1]]);
    await cartWith(guest.headers, [
      [a, 2],
      [b, 5],
    ]);
    const [one, two] = await Promise.all([
      api("/v1/cart/merge", { headers: user.headers, body: { clientCartId: guest.cartId, strategy: "sum" } }),
      api("/v1/cart/merge", { headers: user.headers, body: { clientCartId: guest.cartId, strategy: "sum" } }),
    ]);
    expect([one.status, two.status]).toEqual([200, 200]);
    expect([one.body.merge, two.body.merge].filter(Boolean)).toHaveLength(1);
    expect(items((await api("/v1/cart", { headers: user.headers })).body)).toEqual([
      [a, 3],
      [b, 5],
    ]);
    expect(items((await api("/v1/cart", { headers: guest.headers })).body)).toEqual([]);
  });

  it("needs a logged-in user, and a stale If-Match gives the guest its lines back", async () => {
    const sku = await putSku();
    const guest = asGuest();
    await cartWith(guest.headers, [[sku, 2]]);
    const asGuestOnly = await api("/v1/cart/merge", {
      headers: guest.headers,
      body: { clientCartId: guest.cartId, strategy: "sum" },
    });
    expect(asGuestOnly.status).toBe(401);
    const user = await asUser();
    await cartWith(user.headers, [[await putSku(), 1]]);
    const stale = await api("/v1/cart/merge", {
      headers: { ...user.headers, "if-match": "0" },
      body: { clientCartId: guest.cartId, strategy: "sum" },
    });
    expect(stale.status).toBe(412);
    expect(items((await api("/v1/cart", { headers: guest.headers })).body)).toEqual([[sku, 2]]);
  });
});
