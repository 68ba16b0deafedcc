import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { consumeBatch, retryDelaySeconds } from "../../src/consumer";
import { deadLetters, inventoryAudit, orders, processedEvents, skus } from "../../src/db/tables";
import type { Order } from "../../src/domain/order";
import type { Envelope, EventType, EventData } from "../../src/events/envelope";
import { envelope } from "../../src/events/envelope";
import { pendingOrder } from "../support/orders";
import { db, eventually, installFlakySkuTrigger, unique } from "../support/worker";

function skuEvent(skuId: string, version: number, price: number): Envelope<"sku.updated"> {
  return envelope("sku.updated", skuId, version, {
    skuId,
    productId: "p",
    merchantId: "m",
    name: `v${version}`,
    image: null,
    spec: null,
    saleStartsAt: null,
    price,
    currency: "USD",
    status: "active",
    purchaseLimit: null,
    stripes: 1,
    onHand: 10,
    reserved: 0,
    sold: 0,
    available: 10,
    version,
    updatedAt: new Date().toISOString(),
  });
}

function movementEvent(skuId: string, version: number, refId: string): Envelope<"inventory.reserved"> {
  return envelope("inventory.reserved", skuId, version, {
    skuId,
    refId,
    reason: "order",
    kind: "reserve",
    quantity: 1,
    onHandDelta: 0,
    reservedDelta: 1,
    soldDelta: 0,
    counters: { onHand: 10, reserved: 1, sold: 0 },
  });
}

function orderEvent<T extends EventType>(type: T, o: Order): Envelope<T> {
  return envelope(type, o.orderId, o.version, o as EventData[T]);
}

function order(orderId: string, over: Partial<Order> = {}): Order {
  return pendingOrder({ orderId, ...over });
}

async function deliver(queue: string, bodies: unknown[], environment: Env = env, attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({ id: `msg-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await consumeBatch(batch as MessageBatch, environment);
  return { batch, result: await getQueueResult(batch, ctx) };
}

describe("queue consumer", () => {
  it("writes an event once even when it is delivered twice", async () => {
    const skuId = unique("sku");
    const event = movementEvent(skuId, 2, "ord_x");
    const first = await deliver("order-events", [event, event]);
    expect(first.result.explicitAcks).toHaveLength(2);
    await deliver("order-events", [event]);
    const rows = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.skuId, skuId)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "reserve", refId: "ord_x", reservedDelta: 1, skuVersion: 2 });
  });

  it("never lets an older version overwrite a newer one", async () => {
    const skuId = unique("sku");
    await deliver("order-events", [skuEvent(skuId, 3, 300), skuEvent(skuId, 2, 200)]);
    await deliver("order-events", [skuEvent(skuId, 1, 100)]);
    const [row] = await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)));
    expect(row).toMatchObject({ version: 3, price: 300, name: "v3" });
  });

  it("sums stock movements into the SKU's counters whatever order they arrive in", async () => {
    const skuId = unique("sku");
    const restock = envelope("inventory.restocked", skuId, 1, {
      skuId,
      refId: "admin:v1",
      reason: "admin",
      kind: "restock",
      quantity: 10,
      onHandDelta: 10,
      reservedDelta: 0,
      soldDelta: 0,
      counters: { onHand: 10, reserved: 0, sold: 0 },
    });
    const commit = envelope("inventory.committed", skuId, 4, {
      skuId,
      refId: "o1",
      reason: "payment",
      kind: "commit",
      quantity: 1,
      onHandDelta: -1,
      reservedDelta: -1,
      soldDelta: 1,
      counters: { onHand: 9, reserved: 1, sold: 1 },
    });
    await deliver("order-events", [movementEvent(skuId, 3, "o2"), commit]);
    await deliver("order-events", [skuEvent(skuId, 2, 500), movementEvent(skuId, 2, "o1"), restock, commit]);
    const [row] = await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)));
    expect(row).toMatchObject({ onHand: 9, reserved: 1, sold: 1, price: 500, status: "active" });
  });

  it("keeps an order's newest state when order.created arrives after order.paid", async () => {
    const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
    const created = order(orderId);
    const paid = order(orderId, { status: "PAID", version: 2, paidAt: new Date().toISOString() });
    await deliver("order-events", [orderEvent("order.paid", paid)]);
    await deliver("order-events", [orderEvent("order.created", created)]);
    const [row] = await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId)));
    expect(row).toMatchObject({ status: "PAID", version: 2 });
  });

  it("applies a whole batch of orders and movements at once: each order at its newest version, counters exact", async () => {
    const skuId = unique("sku");
    const ids = Array.from({ length: 50 }, () => `ord_${crypto.randomUUID().replaceAll("-", "")}`);
    const created = ids.map((id) => order(id));
    const paidLater = order(ids[0]!, { status: "PAID", version: 2, paidAt: new Date().toISOString() });
    const bodies = [
      ...created.map((o) => orderEvent("order.created", o)),
      orderEvent("order.paid", paidLater),
      ...ids.map((id, i) => movementEvent(skuId, i + 2, id)),
    ];
    const warn = vi.spyOn(console, "warn");
    const { result } = await deliver("order-events", [...bodies, bodies[1]!]);
    // Applied as one batch: no fallback to one transaction per message.
    expect(warn.mock.calls.filter((args) => String(args[0]).includes("one by one"))).toEqual([]);
    warn.mockRestore();
    expect(result.explicitAcks).toHaveLength(bodies.length + 1);
    const rows = await db((d) => d.select().from(orders).where(inArray(orders.orderId, ids)));
    expect(rows).toHaveLength(50);
    expect(rows.find((r) => r.orderId === ids[0])).toMatchObject({ status: "PAID", version: 2 });
    expect(rows.filter((r) => r.status === "PENDING")).toHaveLength(49);
    const [row] = await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)));
    expect(row).toMatchObject({ reserved: 50, onHand: 0, sold: 0 });
    const audit = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.skuId, skuId)));
    expect(audit).toHaveLength(50);
  });

  it("dead-letters a poison message at once without holding back the rest of the batch", async () => {
    const skuId = unique("sku");
    const poison = { hello: "not an envelope", marker: unique("poison") };
    const { batch, result } = await deliver("order-events", [poison, skuEvent(skuId, 1, 100)]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(batch.messages.map((m) => m.id).sort());
    expect(await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)))).toHaveLength(1);
    // The DLQ consumer records it in Postgres for inspection.
    const letter = await eventually(
      async () =>
        (await db((d) => d.select().from(deadLetters).where(eq(deadLetters.messageId, batch.messages[0]!.id))))[0],
      20_000,
      "dead letter row",
    );
    expect(letter).toMatchObject({ queue: "order-events", body: poison });
    expect(letter.error).toMatch(/invalid envelope/);
  });

  it("retries only the message whose write fails, with backoff, and acks the others", async () => {
    const skuId = unique("sku");
    // Valid as an envelope; Postgres answers its write with a deadlock (transient: worth a retry).
    await installFlakySkuTrigger();
    const broken = skuEvent(unique("flaky"), 1, 100);
    const good = skuEvent(skuId, 1, 100);
    const { batch, result } = await deliver("order-events", [broken, good], env, 3);
    expect(result.explicitAcks).toEqual([batch.messages[1]!.id]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual([batch.messages[0]!.id]);
    expect(
      await db((d) =>
        d
          .select()
          .from(processedEvents)
          .where(inArray(processedEvents.eventId, [broken.id, good.id])),
      ),
    ).toEqual([expect.objectContaining({ eventId: good.id })]);
  });

  it("dead-letters at once an event Postgres can never store, a NUL or a number out of range, and keeps the rest flowing", async () => {
    const good = skuEvent(unique("sku"), 1, 100);
    const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
    const base = pendingOrder({ orderId });
    const nulName = orderEvent("order.created", { ...base, items: [{ ...base.items[0]!, name: "Bad\u0000Name" }] });
    const nulSpec = {
      ...skuEvent(unique("sku"), 1, 100),
      data: { ...skuEvent("x", 1, 100).data, skuId: unique("sku"), spec: { color: "Red\u0000" } },
    };
    // No producer sends this (the API bounds a purchase limit at 999): a value out of an integer column's range.
    const tooLarge = skuEvent(unique("sku"), 1, 100);
    const outOfRange = { ...tooLarge, data: { ...tooLarge.data, purchaseLimit: 3e9 } };
    const { batch, result } = await deliver("order-events", [nulName, nulSpec, outOfRange, good]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(batch.messages.map((m) => m.id).sort());
    expect(await db((d) => d.select().from(skus).where(eq(skus.skuId, good.data.skuId)))).toHaveLength(1);
    const poisoned = batch.messages.slice(0, 3).map((m) => m.id);
    const letters = await eventually(
      async () => {
        const rows = await db((d) => d.select().from(deadLetters).where(inArray(deadLetters.messageId, poisoned)));
        return rows.length === 3 && rows;
      },
      20_000,
      "three dead letters",
    );
    const byId = new Map(letters.map((l) => [l.messageId, l]));
    // A NUL never reaches Postgres (where it fails the batch, and drops an embedded PGlite's connection).
    expect(byId.get(poisoned[0]!)!.error).toMatch(/data\.items\.0\.name holds text Postgres cannot store/);
    expect(byId.get(poisoned[1]!)!.error).toMatch(/data\.spec\.color holds text Postgres cannot store/);
    expect(byId.get(poisoned[2]!)!.error).toMatch(/SQLSTATE 22003/);
    // recorded as it came, the NUL made visible
    expect((byId.get(poisoned[0]!)!.body as { data: Order }).data.items[0]!.name).toBe("Bad\\u0000Name");
    expect(await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId)))).toEqual([]);
  });

  it("backs off exponentially up to five minutes", () => {
    expect([1, 2, 3, 8, 9, 30].map(retryDelaySeconds)).toEqual([2, 4, 8, 256, 300, 300]);
  });

  it("retries everything while Postgres is down, and writes it once Postgres is back", async () => {
    const skuId = unique("sku");
    const event = skuEvent(skuId, 1, 100);
    const down = { ...env, DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" } as Env;
    const { result } = await deliver("order-events", [event], down);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(1);
    await deliver("order-events", [event]);
    expect(await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)))).toHaveLength(1);
  });
});
