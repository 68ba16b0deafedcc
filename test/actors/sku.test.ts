import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SkuActor } from "../../src/actors/sku/sku-actor";
import { ORPHAN_GRACE_MS } from "../../src/actors/sku/sku-actor";
import { eventually, putSku, unique } from "../support/worker";

const stub = (skuId: string) => env.SKUS.getByName(skuId);
const hour = () => Date.now() + 3600_000;

function reserveReq(orderId: string, ownerId: string, quantity = 1, expiresAt = hour()) {
  return { reservationId: `${orderId}.1`, orderId, ownerId, quantity, expiresAt };
}

describe("SKU actor", () => {
  it("reserves, commits, releases and restocks, idempotently by reservation", async () => {
    const skuId = await putSku(unique("sku"), { stock: 10, price: 700 });
    const sku = stub(skuId);
    const first = await sku.reserve(reserveReq("o1", "user:a", 3));
    expect(first).toMatchObject({
      ok: true,
      replayed: false,
      item: { skuId, quantity: 3, unitPrice: 700, currency: "USD" },
    });
    expect(await sku.reserve(reserveReq("o1", "user:a", 3))).toMatchObject({ ok: true, replayed: true });
    expect(await sku.reserve(reserveReq("o1", "user:a", 4))).toMatchObject({
      ok: false,
      code: "IDEMPOTENCY_KEY_REUSED",
    });
    expect(await sku.adminView()).toMatchObject({ onHand: 10, reserved: 3, sold: 0, available: 7 });

    expect(await sku.commit("o1.1")).toMatchObject({ ok: true, replayed: false });
    expect(await sku.commit("o1.1")).toMatchObject({ ok: true, replayed: true });
    expect(await sku.adminView()).toMatchObject({ onHand: 7, reserved: 0, sold: 3, available: 7 });

    await sku.reserve(reserveReq("o2", "user:b", 2));
    expect(await sku.release("o2.1", "test")).toEqual({ released: true });
    expect(await sku.release("o2.1", "test")).toEqual({ released: false });
    expect(await sku.commit("o2.1")).toMatchObject({ ok: false, code: "ORDER_NOT_PENDING" });

    expect(await sku.restock("o1.1")).toEqual({ restocked: true });
    expect(await sku.restock("o1.1")).toEqual({ restocked: false });
    expect(await sku.adminView()).toMatchObject({ onHand: 10, reserved: 0, sold: 3, available: 10 });
  });

  it("refuses an unknown or inactive SKU, too many units, and more than a buyer's limit", async () => {
    expect(await stub(unique("nope")).reserve(reserveReq("o", "user:a"))).toMatchObject({
      ok: false,
      code: "SKU_UNAVAILABLE",
    });
    const off = await putSku(unique("sku"), { status: "inactive" });
    expect(await stub(off).reserve(reserveReq("o", "user:a"))).toMatchObject({ ok: false, code: "SKU_UNAVAILABLE" });

    const skuId = await putSku(unique("sku"), { stock: 5, purchaseLimit: 2 });
    const sku = stub(skuId);
    expect(await sku.reserve(reserveReq("o1", "user:a", 2))).toMatchObject({ ok: true });
    const limited = await sku.reserve(reserveReq("o2", "user:a", 1));
    expect(limited).toMatchObject({
      ok: false,
      code: "LIMIT_EXCEEDED",
      errors: [{ skuId, limit: 2, alreadyPurchased: 2, requested: 1 }],
    });
    // Releasing gives the allowance back; committed units keep counting.
    await sku.release("o1.1", "test");
    expect(await sku.reserve(reserveReq("o3", "user:a", 2))).toMatchObject({ ok: true });
    await sku.commit("o3.1");
    expect(await sku.reserve(reserveReq("o4", "user:a", 1))).toMatchObject({ ok: false, code: "LIMIT_EXCEEDED" });
    expect(await sku.reserve(reserveReq("o5", "user:b", 2))).toMatchObject({ ok: true });
    expect(await sku.reserve(reserveReq("o6", "user:c", 2))).toMatchObject({
      ok: false,
      code: "OUT_OF_STOCK",
      errors: [{ available: 1 }],
    });
  });

  it("never oversells under 300 concurrent reservations for 50 units", async () => {
    const skuId = await putSku(unique("hot"), { stock: 50 });
    const sku = stub(skuId);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => sku.reserve(reserveReq(`o${i}`, `user:${i}`))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === "OUT_OF_STOCK")).toBe(true);
    expect(await sku.adminView()).toMatchObject({ onHand: 50, reserved: 50, available: 0 });
  });

  it("keeps its counters and reservations across eviction", async () => {
    const skuId = await putSku(unique("sku"), { stock: 8 });
    const sku = stub(skuId);
    await sku.reserve(reserveReq("o1", "user:a", 5));
    await evictDurableObject(sku);
    expect(await sku.adminView()).toMatchObject({ onHand: 8, reserved: 5, available: 3 });
    expect(await sku.reserve(reserveReq("o1", "user:a", 5))).toMatchObject({ ok: true, replayed: true });
  });

  it("releases an orphaned reservation whose order never came to be", async () => {
    const skuId = await putSku(unique("sku"), { stock: 4 });
    const sku = stub(skuId);
    const past = Date.now() - ORPHAN_GRACE_MS - 1000;
    // Nobody ever created orders for these: the sweep asks the order actors, which say "closed".
    await sku.reserve(reserveReq("ord_orphan1", "user:a", 1, past));
    await sku.reserve(reserveReq("ord_orphan2", "user:b", 2, past));
    await sku.reserve(reserveReq("ord_fresh", "user:c", 1));
    // The alarm is already due (it may have fired on its own); run it to be sure.
    await runDurableObjectAlarm(sku);
    await eventually(async () => (await sku.adminView())?.reserved === 1, 5_000, "orphans released");
    expect(await sku.adminView()).toMatchObject({ reserved: 1, available: 3 });
    // Running the alarm again changes nothing.
    await runDurableObjectAlarm(sku);
    expect(await sku.adminView()).toMatchObject({ reserved: 1, available: 3 });
  });

  it("writes each stock movement to its outbox in the same transaction", async () => {
    const skuId = await putSku(unique("sku"), { stock: 3 });
    const sku = stub(skuId);
    await sku.reserve(reserveReq("o1", "user:a", 2));
    const rows = await runInDurableObject(
      sku,
      (_: SkuActor, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM reservations").one().n,
    );
    expect(rows).toBe(1);
  });
});
