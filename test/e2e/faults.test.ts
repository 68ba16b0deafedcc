// Faults on the real stack: (a) the Redis behind the Upstash adapter stops mid-test;
// (b) Postgres is unreachable for a while (the Neon WebSocket proxy is down). The HTTP API
// keeps answering correctly from the actors, and Postgres catches up exactly once.
// (c) The admin cart sync, which waits for the consumer to write the cart, while it cannot.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, newId, sleep, startE2eStack, type E2eStack } from "../support/e2e.ts";

let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack();
  console.log(`[e2e] faults stack started in ${stack.startSeconds.toFixed(1)} s`);
});

afterAll(async () => {
  // Whatever a failed test left down comes back before stop() (stop closes everything anyway).
  await stack?.faults.startRedis().catch(() => undefined);
  await stack?.faults.startDatabaseProxy().catch(() => undefined);
  await stack?.stop();
});

function quantities(cart: { items: { skuId: string; quantity: number }[] }): Record<string, number> {
  return Object.fromEntries(cart.items.map((l) => [l.skuId, l.quantity]));
}

/** The snapshot version Redis holds for a cart (through the Upstash REST adapter), or null. */
async function snapshotVersion(cartKey: string): Promise<number | null> {
  const res = await fetch(stack.upstashUrl!, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.upstashToken}`, "content-type": "application/json" },
    body: JSON.stringify(["HGET", `cart:${cartKey}`, "v"]),
  });
  const body = (await res.json()) as { result?: string | null; error?: string };
  if (body.error) throw new Error(body.error);
  return body.result == null ? null : Number(body.result);
}

describe("(a) Redis stops mid-test", () => {
  it("with Redis down the cart answers from its actor and /healthz says degraded until Redis is back", async () => {
    const E = newId("sku-e");
    const F = newId("sku-f");
    for (const [id, price] of [
      [E, 450],
      [F, 120],
    ] as const) {
      expect(
        (await stack.api.putSku(id, { productId: "prod-faults", name: id, merchantId: "m-f", price, stock: 100 }))
          .status,
      ).toBe(201);
    }
    const guestId = randomUUID();
    const guest = stack.api.guest(guestId);
    expect((await stack.api.post("/v1/cart/items", { skuId: E, quantity: 1 }, guest)).status).toBe(200);
    expect((await stack.api.post("/v1/cart/items", { skuId: F, quantity: 2 }, guest)).status).toBe(200);
    const before = await stack.api.get("/v1/cart", guest);
    expect(quantities(before.body)).toEqual({ [E]: 1, [F]: 2 });
    // The snapshot is in Redis before the fault (so the fault really takes something away).
    await eventually(async () => expect(await snapshotVersion(`guest:${guestId}`)).toBe(before.body.version));

    await stack.faults.stopRedis();
    try {
      const expected = { [E]: 1, [F]: 2 };
      let version = before.body.version as number;
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const added = await stack.api.post("/v1/cart/items", { skuId: E, quantity: 1 }, guest);
        expected[E]! += 1;
        expect(added.status, added.text).toBe(200);
        expect(quantities(added.body)).toEqual(expected);
        expect(added.body.version).toBeGreaterThan(version);
        version = added.body.version;

        const read = await stack.api.get("/v1/cart", guest);
        expect(read.status, read.text).toBe(200);
        expect(quantities(read.body)).toEqual(expected);
        expect(read.body.version).toBe(version);
        expect(read.body.totals).toMatchObject({
          totalItems: 2,
          totalQuantity: expected[E]! + expected[F]!,
          totalAmount: expected[E]! * 450 + expected[F]! * 120,
        });

        const count = await stack.api.get("/v1/cart/count", guest);
        expect(count.body).toEqual({ totalQuantity: expected[E]! + expected[F]!, totalItems: 2 });
        timings.push(performance.now() - t0);
      }
      const patched = await stack.api.request("PATCH", `/v1/cart/items/${F}`, {
        headers: guest,
        body: { quantity: 5 },
      });
      expect(patched.status, patched.text).toBe(200);
      expect(quantities(patched.body)).toEqual({ [E]: 6, [F]: 5 });
      expect(quantities((await stack.api.get("/v1/cart", guest)).body)).toEqual({ [E]: 6, [F]: 5 });
      // The storefront SKU view falls back to the actor too.
      const sku = await stack.api.get(`/v1/skus/${E}`);
      expect(sku.status, sku.text).toBe(200);
      expect(sku.body).toMatchObject({ skuId: E, price: 450, available: 100 });
      console.log(`[e2e] with Redis down: add + read + count took ${timings.map((t) => t.toFixed(0)).join(", ")} ms`);

      const health = await degradedHealth(stack);
      expect(health.body.checks.redis).not.toBe("ok");
      expect(health.body.checks.postgres).toBe("ok");
    } finally {
      await stack.faults.startRedis();
    }

    await eventually(
      async () =>
        expect((await stack.api.get("/healthz")).body).toEqual({
          status: "ok",
          checks: { postgres: "ok", redis: "ok", inventory: "ok", auth: "ok (HS256 with JWT_SECRET)" },
        }),
      {
        timeoutMs: 15_000,
      },
    );
    // Redis came back empty: reads still see the actor's cart, and the next change republishes it.
    expect(quantities((await stack.api.get("/v1/cart", guest)).body)).toEqual({ [E]: 6, [F]: 5 });
    const last = await stack.api.post("/v1/cart/items", { skuId: F, quantity: 1 }, guest);
    expect(last.status).toBe(200);
    expect(quantities(last.body)).toEqual({ [E]: 6, [F]: 6 });
    await eventually(async () => expect(await snapshotVersion(`guest:${guestId}`)).toBe(last.body.version), {
      timeoutMs: 15_000,
    });
    expect(quantities((await stack.api.get("/v1/cart", guest)).body)).toEqual({ [E]: 6, [F]: 6 });
  });
});

describe("(b) Postgres unreachable for a while (Neon WebSocket proxy down)", () => {
  it("orders placed and paid meanwhile all reach Postgres exactly once after it comes back", async () => {
    const G = newId("sku-g");
    const H = newId("sku-h");
    expect(
      (
        await stack.api.putSku(G, {
          productId: "prod-pgdown",
          name: "G",
          merchantId: "m-f",
          price: 1000,
          stock: 20,
          purchaseLimit: 5,
        })
      ).status,
    ).toBe(201);
    expect(
      (await stack.api.putSku(H, { productId: "prod-pgdown", name: "H", merchantId: "m-f", price: 250, stock: 10 }))
        .status,
    ).toBe(201);
    await eventually(async () => {
      const { rows } = await stack.db.query("select count(*)::int as n from skus where sku_id = any($1)", [[G, H]]);
      expect(rows[0].n).toBe(2);
    });

    await stack.faults.stopDatabaseProxy();
    const downAt = Date.now();
    const placed: { orderId: string; owner: Record<string, string>; items: Record<string, number>; status: string }[] =
      [];
    try {
      const health = await degradedHealth(stack);
      expect(health.body.checks.postgres).not.toBe("ok");
      expect(health.body.checks.redis).toBe("ok");

      // Flash buys from four users.
      for (let i = 0; i < 4; i++) {
        const owner = await stack.api.user(newId("pgdown-flash"));
        const res = await stack.api.post(
          `/v1/flash/${G}/orders`,
          { quantity: 1 },
          { ...owner, "idempotency-key": `pgdown-flash-${i}` },
        );
        expect(res.status, res.text).toBe(201);
        expect(res.body.status).toBe("PENDING");
        placed.push({ orderId: res.body.orderId, owner, items: { [G]: 1 }, status: "PENDING" });
      }
      // Cart checkouts from two users (their carts are new actors: no Postgres to rebuild from).
      for (let i = 0; i < 2; i++) {
        const owner = await stack.api.user(newId("pgdown-cart"));
        expect((await stack.api.post("/v1/cart/items", { skuId: H, quantity: 2 }, owner)).status).toBe(200);
        const add = await stack.api.post("/v1/cart/items", { skuId: G, quantity: 1 }, owner);
        expect(add.status, add.text).toBe(200);
        expect(quantities(add.body)).toEqual({ [H]: 2, [G]: 1 });
        const res = await stack.api.post("/v1/checkout", {}, { ...owner, "idempotency-key": `pgdown-checkout-${i}` });
        expect(res.status, res.text).toBe(201);
        expect(res.body).toMatchObject({ status: "PENDING", total: 2 * 250 + 1000 });
        placed.push({ orderId: res.body.orderId, owner, items: { [H]: 2, [G]: 1 }, status: "PENDING" });
        expect((await stack.api.get("/v1/cart", owner)).body.items).toEqual([]);
      }
      // One order is even paid while Postgres is away: that later change must reach it too.
      const paid = placed[4]!;
      const pay = await stack.api.webhook({
        eventId: "evt_pgdown",
        type: "payment.succeeded",
        orderId: paid.orderId,
        transactionId: "txn_pgdown",
        amount: 1500,
        currency: "USD",
      });
      expect(pay.status, pay.text).toBe(200);
      expect(pay.body.status).toBe("PAID");
      paid.status = "PAID";

      for (const o of placed) {
        const res = await stack.api.get(`/v1/orders/${o.orderId}`, o.owner);
        expect(res.status).toBe(200);
        expect(res.body.status).toBe(o.status);
      }
      // Flash orders are listed from Postgres: without it the listing says so, rather than answer an empty list.
      const listing = await stack.api.get("/v1/orders", placed[0]!.owner);
      expect(listing.status, listing.text).toBe(503);
      expect(listing.body.code).toBe("DEPENDENCY_UNAVAILABLE");
      expect(Number(listing.headers.get("retry-after"))).toBeGreaterThan(0);
      await eventually(async () => {
        expect(await stack.api.skuCounters(G)).toMatchObject({ onHand: 19, reserved: 5, sold: 1, available: 14 });
        expect(await stack.api.skuCounters(H)).toMatchObject({ onHand: 8, reserved: 2, sold: 2, available: 6 });
      });

      // Keep Postgres away long enough for the consumer to fail and back off a few times.
      await sleep(Math.max(0, downAt + 15_000 - Date.now()));
      const { rows } = await stack.db.query("select count(*)::int as n from orders where order_id = any($1)", [
        placed.map((o) => o.orderId),
      ]);
      expect(rows[0].n).toBe(0); // nothing could have been written meanwhile
    } finally {
      await stack.faults.startDatabaseProxy();
    }
    const upAt = Date.now();
    console.log(`[e2e] Postgres was unreachable for ${((upAt - downAt) / 1000).toFixed(1)} s`);

    const ids = placed.map((o) => o.orderId);
    await eventually(
      async () => {
        const { rows } = await stack.db.query(
          "select order_id, status from orders where order_id = any($1) order by order_id",
          [ids],
        );
        expect(rows).toEqual(
          placed
            .map((o) => ({ order_id: o.orderId, status: o.status }))
            .sort((a, b) => a.order_id.localeCompare(b.order_id)),
        );
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    console.log(
      `[e2e] all ${ids.length} orders reached Postgres ${((Date.now() - upAt) / 1000).toFixed(1)} s after it came back`,
    );

    const listed = await stack.api.get("/v1/orders", placed[0]!.owner);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items.map((o: { orderId: string }) => o.orderId)).toEqual([placed[0]!.orderId]);

    const { rows: items } = await stack.db.query(
      "select order_id, sku_id, quantity from order_items where order_id = any($1)",
      [ids],
    );
    const expectedItems = placed.flatMap((o) =>
      Object.entries(o.items).map(([sku_id, quantity]) => ({ order_id: o.orderId, sku_id, quantity })),
    );
    const key = (r: { order_id: string; sku_id: string }) => `${r.order_id}/${r.sku_id}`;
    expect(items.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      expectedItems.sort((a, b) => key(a).localeCompare(key(b))),
    );
    await eventually(async () => {
      const { rows } = await stack.db.query("select event_id, status from payments where order_id = any($1)", [ids]);
      expect(rows).toEqual([{ event_id: "evt_pgdown", status: "SUCCEEDED" }]);
    });

    // The audit caught up too, once per movement: it sums to the live counters.
    for (const skuId of [G, H]) {
      const live = await stack.api.skuCounters(skuId);
      await eventually(
        async () => {
          const { rows } = await stack.db.query(
            `select coalesce(sum(on_hand_delta),0)::int as "onHand", coalesce(sum(reserved_delta),0)::int as reserved,
                    coalesce(sum(sold_delta),0)::int as sold, count(*)::int as n, count(distinct event_id)::int as events
               from inventory_audit where sku_id = $1`,
            [skuId],
          );
          expect(rows[0]).toMatchObject({ onHand: live.onHand, reserved: live.reserved, sold: live.sold });
          expect(rows[0].n).toBe(rows[0].events);
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
    }
    const { rows: dead } = await stack.db.query("select queue, error from dead_letters");
    expect(dead).toEqual([]);
  });
});

describe("(c) the admin cart sync while the consumer cannot write the cart to Postgres", () => {
  /** A guest cart holding `quantity` of a new SKU; its key for the admin sync. */
  async function guestCart(quantity: number): Promise<{ cartKey: string; guest: Record<string, string>; sku: string }> {
    const sku = newId("sku-sync");
    expect(
      (await stack.api.putSku(sku, { productId: "prod-sync", name: sku, merchantId: "m-f", price: 300, stock: 50 }))
        .status,
    ).toBe(201);
    const guestId = randomUUID();
    const guest = stack.api.guest(guestId);
    const added = await stack.api.post("/v1/cart/items", { skuId: sku, quantity }, guest);
    expect(added.status, added.text).toBe(200);
    return { cartKey: `guest:${guestId}`, guest, sku };
  }

  async function setQuantity(c: { guest: Record<string, string>; sku: string }, quantity: number): Promise<number> {
    const res = await stack.api.request("PATCH", `/v1/cart/items/${c.sku}`, { headers: c.guest, body: { quantity } });
    expect(res.status, res.text).toBe(200);
    return res.body.version;
  }

  const adminSync = (cartKey: string) =>
    stack.api.post(`/v1/admin/carts/${encodeURIComponent(cartKey)}/sync`, undefined, stack.api.admin());

  /** The cart as Postgres holds it: its version and live lines (null: no row yet). */
  async function cartInPostgres(cartKey: string): Promise<{ version: number; lines: Record<string, number> } | null> {
    const { rows } = await stack.db.query("select version from carts where cart_key = $1", [cartKey]);
    if (rows.length === 0) return null;
    const { rows: items } = await stack.db.query(
      "select sku_id, quantity from cart_items where cart_key = $1 and not removed",
      [cartKey],
    );
    return { version: rows[0].version, lines: Object.fromEntries(items.map((r) => [r.sku_id, r.quantity])) };
  }

  it("a snapshot that cannot land within 10 s is 503 DEPENDENCY_UNAVAILABLE with Retry-After until it can", async () => {
    const cart = await guestCart(1);
    // The consumer's every write starts by claiming its event ids in processed_events: refused here as a lost
    // connection (SQLSTATE 08006, retried with backoff), while the route's own reads of Postgres still work.
    await stack.db.query(`
      create function refuse_consumer() returns trigger language plpgsql as
        $$ begin raise exception 'the test cuts the consumer off' using errcode = '08006'; end $$;
      create trigger refuse_consumer before insert on processed_events
        for each statement execute function refuse_consumer();`);
    let version: number;
    try {
      version = await setQuantity(cart, 3);
      const t0 = performance.now();
      const refused = await adminSync(cart.cartKey);
      const seconds = (performance.now() - t0) / 1000;
      expect(refused.status, refused.text).toBe(503);
      expect(refused.body.code).toBe("DEPENDENCY_UNAVAILABLE");
      expect(refused.headers.get("retry-after")).toBe("10");
      expect(seconds).toBeGreaterThanOrEqual(9); // it waited for the consumer (10 s, polling), not failed at once
      console.log(`[e2e] admin sync with the consumer cut off answered 503 after ${seconds.toFixed(1)} s`);
      expect((await cartInPostgres(cart.cartKey))?.version ?? 0).toBeLessThan(version);
    } finally {
      await stack.db.query(
        "drop trigger if exists refuse_consumer on processed_events; drop function if exists refuse_consumer();",
      );
    }

    const synced = await adminSync(cart.cartKey);
    expect(synced.status, synced.text).toBe(200);
    expect(synced.body).toEqual({ cartKey: cart.cartKey, version, lines: 1 });
    expect(await cartInPostgres(cart.cartKey)).toEqual({ version, lines: { [cart.sku]: 3 } });
  });

  it("an unreachable Postgres is 503 DEPENDENCY_UNAVAILABLE until it is back, then the cart reaches it", async () => {
    const cart = await guestCart(2);
    await stack.faults.stopDatabaseProxy();
    let version: number;
    try {
      version = await setQuantity(cart, 4); // the actor holds the cart: edits go on without Postgres
      // The route cannot read Postgres either, so it answers at once rather than after its 10 s wait.
      const t0 = performance.now();
      const refused = await adminSync(cart.cartKey);
      console.log(
        `[e2e] admin sync with Postgres unreachable answered ${refused.status} after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(refused.status, refused.text).toBe(503);
      expect(refused.body.code).toBe("DEPENDENCY_UNAVAILABLE");
      expect((await cartInPostgres(cart.cartKey))?.version ?? 0).toBeLessThan(version);
    } finally {
      await stack.faults.startDatabaseProxy();
    }

    const t1 = performance.now();
    const synced = await adminSync(cart.cartKey);
    console.log(
      `[e2e] admin sync after Postgres came back answered ${synced.status} after ${((performance.now() - t1) / 1000).toFixed(1)} s`,
    );
    expect(synced.status, synced.text).toBe(200);
    expect(synced.body).toEqual({ cartKey: cart.cartKey, version, lines: 1 });
    expect(await cartInPostgres(cart.cartKey)).toEqual({ version, lines: { [cart.sku]: 4 } });
  });
});

/** /healthz reuses its dependency checks for up to 5 s: it turns degraded (still 200) within a few seconds. */
async function degradedHealth(stack: E2eStack) {
  const health = await eventually(
    async () => {
      const h = await stack.api.get("/healthz");
      expect(h.body.status).toBe("degraded");
      return h;
    },
    { timeoutMs: 10_000 },
  );
  expect(health.status).toBe(200);
  return health;
}
