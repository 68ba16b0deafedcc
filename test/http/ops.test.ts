// The operator's admin API (docs/operations.md): metrics after real requests, the stock table
// from the actors, and dead letters from a real poisoned event with replay and discard.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deadLetters, opsMetrics, orders, processedEvents } from "../../src/db/tables";
import { flushMetrics, metricsSink, record } from "../../src/ops/metrics";
import type { Order } from "../../src/domain/order";
import { envelope } from "../../src/events/envelope";
import { pendingOrder } from "../support/orders";
import { app } from "../../src/http/app";
import { ADMIN, adminSku, api, asGuest, asUser, db, eventually, putSku, unique } from "../support/worker";

const flashBuy = (skuId: string, headers: Record<string, string>) =>
  api(`/v1/flash/${skuId}/orders`, {
    headers: { ...headers, "idempotency-key": crypto.randomUUID() },
    body: { quantity: 1 },
  });

interface Bucket {
  requests: number;
  p50Ms: number | null;
  flash: Record<string, { attempts: number; wins: number }>;
  cartEdits: number;
}

/** A poisoned order.created: a NUL byte in a line's name, which Postgres text refuses. */
function poisonedOrder() {
  const orderId = `ord_${crypto.randomUUID().replaceAll("-", "")}`;
  const base = pendingOrder({ orderId });
  const order: Order = { ...base, items: [{ ...base.items[0]!, name: "Bad\u0000Name" }] };
  return {
    orderId,
    event: envelope("order.created", orderId, order.version, order),
    fixed: { ...order, items: [{ ...order.items[0]!, name: "Bad Name" }] },
  };
}

async function letterOf(eventId: string, status = "all") {
  return eventually(
    async () => {
      const list = await api(`/v1/admin/dead-letters?status=${status}`, { headers: ADMIN });
      return list.body.deadLetters.find((l: { eventId: string }) => l.eventId === eventId);
    },
    30_000,
    `dead letter of ${eventId}`,
  );
}

describe("ops admin API", () => {
  it("needs the admin token and validates its query", async () => {
    expect((await api("/v1/admin/metrics")).status).toBe(401);
    expect((await api("/v1/admin/stock", { headers: (await asUser()).headers })).status).toBe(403);
    const bad = await api("/v1/admin/metrics?since=yesterday", { headers: ADMIN });
    expect(bad).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    expect((await api("/v1/admin/dead-letters?status=lost", { headers: ADMIN })).status).toBe(400);
    for (const query of ["skus=", "skus=a,,b", "skus=-bad", "limit=0", "limit=501", "after=%20"])
      expect((await api(`/v1/admin/stock?${query}`, { headers: ADMIN })).status, query).toBe(400);
    const doc = (await api("/openapi.json")).body;
    for (const path of [
      "/v1/admin/metrics",
      "/v1/admin/stock",
      "/v1/admin/dead-letters",
      "/v1/admin/dead-letters/replay",
      "/v1/admin/dead-letters/{id}/replay",
      "/v1/admin/dead-letters/{id}/discard",
    ])
      expect(doc.paths[path], path).toBeDefined();
  });

  it("shows flash attempts, wins, refusals, cart edits and latencies after real requests", async () => {
    const since = Date.now() - 1000;
    const sku = await putSku(unique("flash"), { stock: 2 });
    const buyers = await Promise.all([asUser(), asUser(), asUser()]);
    const answers = [];
    for (const buyer of buyers) answers.push((await flashBuy(sku, buyer.headers)).status);
    expect(answers.sort()).toEqual([201, 201, 409]);
    const shopper = await asUser();
    expect(
      (await api("/v1/cart/items", { headers: shopper.headers, body: { skuId: await putSku(), quantity: 1 } })).status,
    ).toBe(200);

    const view = await api(`/v1/admin/metrics?since=${new Date(since).toISOString()}`, { headers: ADMIN });
    expect(view.status).toBe(200);
    expect(view.body.stepSeconds).toBe(5);
    const series: Bucket[] = view.body.series;
    const total = (f: (b: Bucket) => number) => series.reduce((n, b) => n + f(b), 0);
    expect(total((b) => b.flash[sku]?.attempts ?? 0)).toBe(3);
    expect(total((b) => b.flash[sku]?.wins ?? 0)).toBe(2);
    expect(total((b) => b.cartEdits)).toBeGreaterThanOrEqual(1);
    expect(total((b) => b.requests)).toBeGreaterThanOrEqual(5);
    expect(series.some((b) => b.p50Ms !== null)).toBe(true);
    expect(view.body.refusals.SOLD_OUT).toBeGreaterThanOrEqual(1);
    // The reservations reach Postgres through the outbox and the consumer, whose points follow.
    await eventually(
      async () => {
        const later = await api(`/v1/admin/metrics?since=${since}`, { headers: ADMIN });
        return later.body.outbox?.sku && later.body.queueLagMs !== null;
      },
      30_000,
      "outbox relay and landed events in the metrics",
    );
  });

  it("counts requests shed under overload (503 OVERLOADED) as sheds and 5xx", async () => {
    const since = Date.now() - 1000;
    // The workers project runs with shedding off; this flood runs with a capacity of 2 (and 8 waiting).
    const shedding = { ...env, MAX_IN_FLIGHT: "2", SHED_WAIT_MS: "20" } as Env;
    const guest = asGuest();
    const replies = await Promise.all(
      Array.from({ length: 80 }, () =>
        app.fetch(
          new Request("http://edge-cart.test/v1/cart", { headers: guest.headers }),
          shedding,
          createExecutionContext(),
        ),
      ),
    );
    const shed = replies.filter((r) => r.status === 503).length;
    expect(shed).toBeGreaterThan(0);
    const view = await api(`/v1/admin/metrics?since=${since}`, { headers: ADMIN });
    const series: { shed: number; status5xx: number }[] = view.body.series;
    expect(series.reduce((n, b) => n + b.shed, 0)).toBeGreaterThanOrEqual(shed);
    expect(series.reduce((n, b) => n + b.status5xx, 0)).toBeGreaterThanOrEqual(shed);
  });

  it("shows the stock per SKU and stripe from the actors, the last reconciliation and the promotions", async () => {
    const sku = await putSku(unique("stock"), { stock: 40, stripes: 2 });
    const buyer = await asUser();
    expect((await flashBuy(sku, buyer.headers)).status).toBe(201);
    const promotionId = unique("promo");
    const code = unique("OPS").toUpperCase();
    const put = await api(`/v1/admin/promotions/${promotionId}`, {
      method: "PUT",
      headers: ADMIN,
      body: { active: true, code, kind: "percent", value: 10, limit: 50 },
    });
    expect(put.status).toBe(201);
    // Its SKU row reaches Postgres through the consumer; the stock view lists what Postgres knows.
    const mineOnly = `/v1/admin/stock?skus=${sku}`;
    await eventually(
      async () => (await api(mineOnly, { headers: ADMIN })).body.skus.length === 1,
      60_000,
      "SKU in the stock view",
    );
    // One reconciliation (it checks every SKU of this file's database: workers-ops in vitest.config.ts), then the view with its result.
    expect((await api("/v1/admin/reconcile", { method: "POST", headers: ADMIN })).status).toBe(200);
    const row = (await api(mineOnly, { headers: ADMIN })).body;
    const mine = row.skus.find((s: { skuId: string }) => s.skuId === sku);
    const actor = await adminSku(sku);
    expect(mine).toMatchObject({ onHand: actor.onHand, reserved: 1, sold: 0 });
    expect(mine.stripes).toHaveLength(2);
    expect(mine.stripes.reduce((n: number, s: { reserved: number }) => n + s.reserved, 0)).toBe(1);
    expect(mine.stripes.reduce((n: number, s: { onHand: number }) => n + s.onHand, 0)).toBe(actor.onHand);
    expect(row.reconciledAt).not.toBeNull();
    expect(row.reconcile).toMatchObject({ ok: expect.any(Boolean), drift: expect.any(Array) });
    expect(row.promotions).toContainEqual(
      expect.objectContaining({ id: promotionId, code, limit: 50, used: 0, reserved: 0, remaining: 50 }),
    );
  });

  it("pages the stock table in SKU id order, and shows only the SKUs asked for", async () => {
    const prefix = unique("page");
    const ids = await Promise.all(["a", "b", "c"].map((n) => putSku(`${prefix}-${n}`, { stock: 5 })));
    const list = async (query: string) => (await api(`/v1/admin/stock?${query}`, { headers: ADMIN })).body;
    await eventually(async () => (await list(`skus=${ids.join(",")}`)).skus.length === 3, 60_000, "SKUs in Postgres");

    const first = await list(`after=${prefix}-&limit=2`);
    expect(first.skus.map((s: { skuId: string }) => s.skuId)).toEqual(ids.slice(0, 2));
    expect(first.next).toBe(ids[1]);
    const second = await list(`after=${first.next}&limit=2`);
    expect(second.skus[0].skuId).toBe(ids[2]);
    const named = await list(`skus=${ids[2]},${ids[0]}`);
    expect(named.skus.map((s: { skuId: string }) => s.skuId)).toEqual([ids[0], ids[2]]);
    expect(named.next).toBeNull();
  });

  it("metrics go to Postgres in tests and development, to Analytics Engine elsewhere, unless METRICS says otherwise", () => {
    const off = { ...env, METRICS: "off" } as Env;
    expect([metricsSink(env), metricsSink(off)]).toEqual(["postgres", "off"]);
    expect(metricsSink({ ...env, ENVIRONMENT: "production" } as Env)).toBe("analytics-engine");
    expect(metricsSink({ ...env, ENVIRONMENT: "production", METRICS: "postgres" } as Env)).toBe("postgres");
  });

  it("METRICS=off records nothing, while the Postgres sink writes each count", async () => {
    const off = { ...env, METRICS: "off" } as Env;
    const route = unique("GET /metrics-switch");
    const rows = () => db((d) => d.select().from(opsMetrics).where(eq(opsMetrics.dim1, route)));
    record(off, { metric: "cart_edit", dim1: route });
    await flushMetrics(env);
    expect(await rows()).toEqual([]);
    record(env, { metric: "cart_edit", dim1: route });
    record(env, { metric: "cart_edit", dim1: route });
    await flushMetrics(env);
    expect(await rows()).toEqual([expect.objectContaining({ metric: "cart_edit", count: 2 })]);
  });

  it("lists a poisoned event as a dead letter whose fixed data, replayed twice, lands once", async () => {
    const { orderId, event, fixed } = poisonedOrder();
    await env.ORDER_EVENTS.send(event, { contentType: "json" });
    const letter = await letterOf(event.id, "open");
    expect(letter).toMatchObject({ queue: "order-events", type: "order.created", status: "open", resolvedAt: null });
    expect(letter.reason).toMatch(/holds text Postgres cannot store/);
    expect(letter.payload.data.items[0].name).toBe("Bad\\u0000Name");

    // Replaying the payload as it came is refused: the operator fixes the data first.
    const url = `/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/replay`;
    const raw = await api(url, { method: "POST", headers: ADMIN, body: { payload: event } });
    expect(raw).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    const payload = { ...event, data: fixed };
    const first = await api(url, { method: "POST", headers: ADMIN, body: { payload } });
    expect(first).toMatchObject({ status: 200, body: { id: letter.id, status: "replayed", applied: true } });
    const second = await api(url, { method: "POST", headers: ADMIN });
    expect(second).toMatchObject({ status: 200, body: { status: "replayed", applied: false } });
    expect(await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId)))).toEqual([
      expect.objectContaining({ orderId }),
    ]);
    expect(await db((d) => d.select().from(processedEvents).where(eq(processedEvents.eventId, event.id)))).toHaveLength(
      1,
    );
    const replayed = await letterOf(event.id, "replayed");
    expect(replayed.resolvedAt).not.toBeNull();
    expect(replayed.payload.data.items[0].name).toBe("Bad Name");
    // No longer open: a replay of all open letters does not touch it.
    expect(
      (await api("/v1/admin/dead-letters", { headers: ADMIN })).body.deadLetters.map((l: { id: string }) => l.id),
    ).not.toContain(letter.id);
  });

  it("discards a dead letter for good but keeps its record", async () => {
    const { event } = poisonedOrder();
    await env.ORDER_EVENTS.send(event, { contentType: "json" });
    const letter = await letterOf(event.id, "open");
    const url = `/v1/admin/dead-letters/${encodeURIComponent(letter.id)}`;
    expect(await api(`${url}/discard`, { method: "POST", headers: ADMIN })).toMatchObject({
      status: 200,
      body: { id: letter.id, status: "discarded" },
    });
    expect(await api(`${url}/discard`, { method: "POST", headers: ADMIN })).toMatchObject({ status: 200 });
    expect(await api(`${url}/replay`, { method: "POST", headers: ADMIN })).toMatchObject({
      status: 409,
      body: { code: "DEAD_LETTER_RESOLVED" },
    });
    const kept = await letterOf(event.id, "discarded");
    expect(kept).toMatchObject({ status: "discarded", reason: letter.reason, payload: letter.payload });
    expect(kept.resolvedAt).not.toBeNull();
  });

  it("replaying an unknown dead letter is 404", async () => {
    const unknown = await api("/v1/admin/dead-letters/no-such-letter/replay", { method: "POST", headers: ADMIN });
    expect(unknown).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
  });

  it("replays a cart-alerts letter only with a well-formed page, leaving it open after a malformed one", async () => {
    const messageId = unique("alerts-letter");
    const page = {
      skuId: unique("alerted"),
      version: 3,
      price: 1200,
      status: "active",
      available: 0,
      prevAvailable: 5,
      priceChanged: false,
      wentInactive: false,
      stockFell: true,
      after: null,
    };
    await db((d) =>
      d.insert(deadLetters).values({ messageId, queue: "cart-alerts", body: page, error: "gave up after 8 tries" }),
    );
    const url = `/v1/admin/dead-letters/${messageId}/replay`;
    for (const payload of [{ ...page, version: "3" }, { skuId: page.skuId }, "page"]) {
      const refused = await api(url, { method: "POST", headers: ADMIN, body: { payload } });
      expect(refused, JSON.stringify(payload)).toMatchObject({ status: 400, body: { code: "VALIDATION_FAILED" } });
    }
    const [stored] = await db((d) => d.select().from(deadLetters).where(eq(deadLetters.messageId, messageId)));
    expect(stored).toMatchObject({ status: "open", body: page });
    const replayed = await api(url, { method: "POST", headers: ADMIN });
    expect(replayed, JSON.stringify(replayed.body)).toMatchObject({
      status: 200,
      body: { status: "replayed", applied: true },
    });
  });
});
