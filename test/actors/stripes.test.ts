import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { homeStripe, stripeName } from "../../src/domain/stripes";
import { adminSku, api, asUser, auditBalances, eventually, putSku, sendPayment, unique } from "../support/worker";

const counters = (skuId: string, index: number) => env.SKUS.getByName(stripeName(skuId, index)).stripeCounters();

async function flashBuy(headers: Record<string, string>, skuId: string, quantity = 1) {
  return api(`/v1/flash/${skuId}/orders`, {
    headers: { ...headers, "idempotency-key": unique("k") },
    body: { quantity },
  });
}

describe("stock stripes", () => {
  it("splits a hot SKU's stock over its stripes and adds them up in the admin view", async () => {
    const skuId = await putSku(unique("striped"), { stock: 102, stripes: 4 } as never);
    expect(await adminSku(skuId)).toMatchObject({ onHand: 102, reserved: 0, available: 102, stripes: 4 });
    const split = await Promise.all([0, 1, 2, 3].map((i) => counters(skuId, i)));
    expect(split.map((c) => c.onHand)).toEqual([27, 25, 25, 25]);
  });

  it("sells exactly the stock under a burst, with no false sold-out and per-buyer limits intact", async () => {
    const skuId = await putSku(unique("hot"), { stock: 100, stripes: 4, purchaseLimit: 2 } as never);
    const buyers = await Promise.all(Array.from({ length: 150 }, () => asUser()));
    const replies = await Promise.all(
      buyers.flatMap((b) => [flashBuy(b.headers, skuId), flashBuy(b.headers, skuId), flashBuy(b.headers, skuId)]),
    );
    const wins = replies.filter((r) => r.status === 201);
    expect(wins).toHaveLength(100);
    expect(
      replies
        .filter((r) => r.status !== 201)
        .every((r) => r.body.code === "SOLD_OUT" || r.body.code === "LIMIT_EXCEEDED"),
    ).toBe(true);
    const perBuyer = new Map<string, number>();
    for (const [i, r] of replies.entries())
      if (r.status === 201)
        perBuyer.set(buyers[Math.floor(i / 3)]!.userId, (perBuyer.get(buyers[Math.floor(i / 3)]!.userId) ?? 0) + 1);
    expect(Math.max(...perBuyer.values())).toBeLessThanOrEqual(2);
    expect(await adminSku(skuId)).toMatchObject({ onHand: 100, reserved: 100, sold: 0, available: 0 });
    // Every stripe sold something: the load really was spread.
    const split = await Promise.all([0, 1, 2, 3].map((i) => counters(skuId, i)));
    expect(split.every((c) => c.reserved > 0)).toBe(true);
  });

  it("a stripe that runs dry pulls units from its siblings before refusing", async () => {
    const skuId = await putSku(unique("dry"), { stock: 8, stripes: 4 } as never);
    const buyer = await asUser();
    const all = await flashBuy(buyer.headers, skuId, 8);
    expect(all.status).toBe(201);
    const home = homeStripe(buyer.cartKey, 4);
    const split = await Promise.all([0, 1, 2, 3].map((i) => counters(skuId, i)));
    expect(split[home]).toMatchObject({ reserved: 8 });
    expect(split.reduce((n, c) => n + c.onHand - c.reserved, 0)).toBe(0);
    expect((await flashBuy((await asUser()).headers, skuId)).body.code).toBe("SOLD_OUT");
  });

  it("pays, cancels and audits reservations at the stripe that holds them, and re-striping keeps them", async () => {
    const skuId = await putSku(unique("life"), { stock: 40, stripes: 4, price: 500 } as never);
    const buyers = await Promise.all(Array.from({ length: 8 }, () => asUser()));
    const orders = (await Promise.all(buyers.map((b) => flashBuy(b.headers, skuId, 2)))).map((r, i) => ({
      ...r.body,
      buyer: buyers[i]!,
    }));
    expect(orders.every((o) => o.status === "PENDING")).toBe(true);
    for (const o of orders.slice(0, 3)) await sendPayment({ orderId: o.orderId, amount: o.total });
    for (const o of orders.slice(3, 5))
      await api(`/v1/orders/${o.orderId}/cancel`, { method: "POST", headers: o.buyer.headers });
    await eventually(async () => (await adminSku(skuId)).sold === 6, 5_000, "payments committed");
    expect(await adminSku(skuId)).toMatchObject({ onHand: 34, reserved: 6, sold: 6, available: 28 });

    // Back to one stripe: available units are collected, held ones stay where they are.
    await putSku(skuId, { stock: 30, stripes: 1, price: 500 } as never);
    expect(await adminSku(skuId)).toMatchObject({ reserved: 6, sold: 6, available: 30 });
    await sendPayment({ orderId: orders[5]!.orderId, amount: orders[5]!.total });
    await api(`/v1/orders/${orders[6]!.orderId}/cancel`, { method: "POST", headers: orders[6]!.buyer.headers });
    await eventually(
      async () => {
        const c = await adminSku(skuId);
        return c.sold === 8 && c.reserved === 2;
      },
      5_000,
      "settled at their stripes",
    );
    // A unit released at a retired stripe finds its way back to the SKU's own actor.
    await eventually(
      async () => (await counters(skuId, 0)).onHand - (await counters(skuId, 0)).reserved === 32,
      10_000,
      "released units returned",
    );
    expect(await adminSku(skuId)).toMatchObject({ reserved: 2, sold: 8, available: 32 });

    // The audit rows of all stripes add up to the SKU's totals.
    await eventually(() => auditBalances(skuId), 30_000, "audit balances");
  });

  it("the public view adds up the stripes, and cart checks see the buyer's units at their home stripe", async () => {
    const skuId = await putSku(unique("view"), { stock: 20, stripes: 3, purchaseLimit: 3 } as never);
    const buyer = await asUser();
    expect((await flashBuy(buyer.headers, skuId, 2)).status).toBe(201);
    await eventually(async () => (await api(`/v1/skus/${skuId}`)).body.available === 18, 10_000, "public availability");
    const add = await api("/v1/cart/items", { headers: buyer.headers, body: { skuId, quantity: 2 } });
    expect(add.status).toBe(409);
    expect(add.body.code).toBe("LIMIT_EXCEEDED");
    expect((await api("/v1/cart/items", { headers: buyer.headers, body: { skuId, quantity: 1 } })).status).toBe(200);
  });
});
