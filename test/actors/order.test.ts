import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OrderActor } from "../../src/actors/order/order-actor";
import { orderActor } from "../../src/actors/order/order-routing";
import type { SkuActor } from "../../src/actors/sku/sku-actor";
import { orderHome } from "../../src/domain/order-ids";
import { stripeName } from "../../src/domain/stripes";
import { inventoryAudit } from "../../src/db/tables";
import { orderIdFor } from "../../src/http/checkout";
import { adminSku, api, asUser, auditBalances, db, eventually, putSku, sendPayment, unique } from "../support/worker";

/** Places a checkout straight on the order actor with a short payment window (the HTTP path uses RESERVATION_TTL_SECONDS). */
async function shortOrder(skuId: string, quantity: number, ttlSeconds: number) {
  const user = await asUser();
  await api("/v1/cart/items", { headers: user.headers, body: { skuId, quantity } });
  const orderId = await orderIdFor(user.cartKey, unique("key"));
  const stub = env.ORDERS.getByName(orderId);
  const placed = await stub.placeCheckout({
    ownerId: user.cartKey,
    requestHash: "h",
    skuIds: null,
    expectedTotal: null,
    ttlSeconds,
  });
  if (!placed.ok) throw new Error(placed.detail);
  return { user, orderId, stub, total: placed.order.total };
}

describe("order actor", () => {
  it("expires an unpaid order at expiresAt and releases its stock once, however often the alarm runs", async () => {
    const sku = await putSku(unique("exp"), { stock: 5 });
    const { stub, orderId, user } = await shortOrder(sku, 2, 1);
    expect(await adminSku(sku)).toMatchObject({ reserved: 2 });
    await stub.advanceClock(1_100);
    await runDurableObjectAlarm(stub);
    await runDurableObjectAlarm(stub);
    expect((await stub.expireIfDue()).expired).toBe(false);
    expect((await api(`/v1/orders/${orderId}`, { headers: user.headers })).body.status).toBe("EXPIRED");
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    const releases = await eventually(
      async () => {
        const rows = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.refId, orderId)));
        return rows.length >= 2 ? rows : null;
      },
      20_000,
      "audit rows",
    );
    expect(releases.map((r) => r.kind).sort()).toEqual(["release", "reserve"]);
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, available: 5 });
  });

  it("a payment after expiry is recorded with refundRequired and never oversells", async () => {
    const sku = await putSku(unique("late"), { stock: 2 });
    const { stub, orderId, total, user } = await shortOrder(sku, 2, 1);
    await stub.advanceClock(1_100);
    // Someone else buys the released units before the late payment arrives.
    await eventually(
      async () => (await adminSku(sku)).available === 2 || (await env.ORDERS.getByName(orderId).expireIfDue(), false),
      5_000,
      "expired and released",
    );
    const other = await asUser();
    expect(
      (
        await api(`/v1/flash/${sku}/orders`, {
          headers: { ...other.headers, "idempotency-key": unique("k") },
          body: { quantity: 2 },
        })
      ).status,
    ).toBe(201);
    const late = await sendPayment({ orderId, amount: total });
    expect(late.body).toMatchObject({ status: "EXPIRED", refundRequired: true });
    expect((await api(`/v1/orders/${orderId}`, { headers: user.headers })).body.payments[0]).toMatchObject({
      status: "SUCCEEDED",
      reason: "payment for a expired order",
    });
    expect(await adminSku(sku)).toMatchObject({ reserved: 2, sold: 0, onHand: 2, available: 0 });
  });

  it("payment and expiry racing: exactly one wins and the stock agrees with it", async () => {
    for (let round = 0; round < 6; round++) {
      const sku = await putSku(unique("race"), { stock: 3 });
      const { stub, orderId, total } = await shortOrder(sku, 1, 1);
      const due = Date.parse((await stub.get())!.expiresAt);
      // The order's clock lands a few ms before, at or after expiresAt, then payment and expiry race.
      await stub.advanceClock(Math.max(0, due - Date.now() - 5 + round * 3));
      const [paid] = await Promise.all([
        sendPayment({ orderId, amount: total }),
        runDurableObjectAlarm(stub),
        stub.expireIfDue(),
      ]);
      const order = (await stub.get())!;
      expect(paid.status).toBe(200);
      if (order.status === "PAID") {
        expect(order.refundRequired).toBe(false);
        await eventually(async () => (await adminSku(sku)).sold === 1, 5_000, "committed");
        expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 1, onHand: 2 });
      } else {
        expect(order.status).toBe("EXPIRED");
        expect(order.refundRequired).toBe(true);
        await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
        expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 0, onHand: 3 });
      }
    }
  });

  it("a checkout that died while reserving gives its stock back (alarm, or the next attempt)", async () => {
    const sku = await putSku(unique("crash"), { stock: 5 });
    for (const recovery of ["alarm", "retry"] as const) {
      const user = await asUser();
      await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 2 } });
      const orderId = await orderIdFor(user.cartKey, unique("key"));
      const stub = env.ORDERS.getByName(orderId);
      // The state a crash leaves: the attempt recorded, one line reserved, no order, no instance alive.
      const attempt = {
        reservationId: `${orderId}.1`,
        requestHash: "h",
        ownerId: user.cartKey,
        lines: [{ skuId: sku, quantity: 2 }],
        expiresAt: Date.now() + 900_000,
        startedAt: Date.now() - 120_000,
      };
      expect((await env.SKUS.getByName(sku).reserve({ ...attempt, orderId, quantity: 2 })).ok).toBe(true);
      await runInDurableObject(stub, async (_: OrderActor, state) => {
        state.storage.sql.exec(
          "INSERT INTO kv (key, value) VALUES ('attempts', '1'), ('attempt', ?)",
          JSON.stringify(attempt),
        );
        await state.storage.setAlarm(Date.now() + 60_000); // as runCheckout schedules it
      });
      await evictDurableObject(stub);
      expect(await adminSku(sku)).toMatchObject({ reserved: 2 });
      if (recovery === "alarm") await runDurableObjectAlarm(stub);
      else
        expect(
          (
            await stub.placeCheckout({
              ownerId: user.cartKey,
              requestHash: "h",
              skuIds: null,
              expectedTotal: null,
              ttlSeconds: 900,
            })
          ).ok,
        ).toBe(true);
      const expected = recovery === "alarm" ? 0 : 2; // the retry holds its own 2 units under attempt 2
      await eventually(async () => (await adminSku(sku)).reserved === expected, 5_000, `released by ${recovery}`);
      if (recovery === "retry") await stub.cancel(user.cartKey);
      await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "all released");
    }
  });

  it("a SKU sweeping a reservation of a PAID order commits it, even if the order's commit never arrived", async () => {
    const sku = await putSku(unique("sweep"), { stock: 4 });
    const { orderId, total } = await shortOrder(sku, 1, 900);
    await sendPayment({ orderId, amount: total });
    await eventually(async () => (await adminSku(sku)).sold === 1, 5_000, "committed");
    // Undo the commit inside the SKU, as if it had never arrived.
    const skuStub = env.SKUS.getByName(sku);
    await runInDurableObject(skuStub, (_: SkuActor, state) => {
      state.storage.sql.exec("UPDATE reservations SET status = 'held' WHERE order_id = ?", orderId);
      state.storage.sql.exec("UPDATE sku SET reserved = reserved + 1, sold = sold - 1, on_hand = on_hand + 1");
    });
    await evictDurableObject(skuStub);
    expect(await adminSku(sku)).toMatchObject({ reserved: 1, sold: 0 });
    // Two minutes past the reservation's 900 s window, it is overdue beyond the sweep's grace.
    await skuStub.advanceClock(900_000 + 120_000);
    await runDurableObjectAlarm(skuStub);
    await eventually(async () => (await adminSku(sku)).sold === 1, 5_000, "committed by the sweep");
    expect(await adminSku(sku)).toMatchObject({ reserved: 0, sold: 1, onHand: 3 });
  });
});

describe("inventory audit balance (docs/invariants.md 4)", () => {
  it("after a randomized run of reserve / pay / cancel / expire / refund, audit rows sum to each SKU's counters", async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const skus = await Promise.all(
      [0, 1, 2].map((i) => putSku(unique(`audit${i}`), { stock: 30, price: 100 * (i + 1) })),
    );
    const open: { orderId: string; total: number; expiresAt: string; user: Awaited<ReturnType<typeof asUser>> }[] = [];
    const paid: { orderId: string; total: number }[] = [];
    const done = { reserve: 0, pay: 0, cancel: 0, expire: 0, refund: 0 };
    for (let step = 0; step < 40; step++) {
      const roll = random();
      const sku = skus[Math.floor(random() * skus.length)]!;
      if (roll < 0.45 || open.length === 0) {
        const user = await asUser();
        const res = await api(`/v1/flash/${sku}/orders`, {
          headers: { ...user.headers, "idempotency-key": unique("k") },
          body: { quantity: 1 + Math.floor(random() * 3) },
        });
        if (res.status === 201) {
          open.push({ orderId: res.body.orderId, total: res.body.total, expiresAt: res.body.expiresAt, user });
          done.reserve += 1;
        }
      } else if (roll < 0.7) {
        const o = open.splice(Math.floor(random() * open.length), 1)[0]!;
        await sendPayment({ orderId: o.orderId, amount: o.total });
        paid.push(o);
        done.pay += 1;
      } else if (roll < 0.82) {
        const o = open.splice(Math.floor(random() * open.length), 1)[0]!;
        await api(`/v1/orders/${o.orderId}/cancel`, { method: "POST", headers: o.user.headers });
        done.cancel += 1;
      } else if (roll < 0.92) {
        const o = open.splice(Math.floor(random() * open.length), 1)[0]!;
        // Move the clock of the stripe that keeps the flash order past its payment window, then let the alarm
        // expire it (and whatever else of that stripe is overdue by then).
        const home = orderHome(o.orderId);
        if (home?.kind !== "flash") throw new Error(`${o.orderId} is not a flash order`);
        const stripe = env.SKUS.getByName(stripeName(home.skuId, home.stripe));
        const ahead = await stripe.advanceClock(0);
        await stripe.advanceClock(Math.max(0, Date.parse(o.expiresAt) - Date.now() - ahead) + 1000);
        await evictDurableObject(stripe);
        await runDurableObjectAlarm(stripe);
        await orderActor(env, o.orderId)!.expireIfDue();
        done.expire += 1;
      } else if (paid.length > 0) {
        const o = paid.splice(Math.floor(random() * paid.length), 1)[0]!;
        await sendPayment({ orderId: o.orderId, amount: o.total, type: "payment.refunded" });
        done.refund += 1;
      }
    }
    expect(
      Object.values(done).every((n) => n > 0),
      JSON.stringify(done),
    ).toBe(true);
    for (const sku of skus) await eventually(() => auditBalances(sku), 30_000, `audit of ${sku} balances`);
  });
});
