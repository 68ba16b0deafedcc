// A Black-Friday rush on one limited code (docs/invariants.md 10, issue 20) on the real local
// stack (`npm start`: workerd, Postgres, Redis, the queue): many users, CONCURRENCY attempts at
// once, half of them cart checkouts with the code applied and half flash buy-nows carrying it;
// a user's two attempts run side by side, so the per-customer limit is raced too. Some placed
// orders are cancelled, some expire (the order actor's clock is moved forward through the dev
// route: no sleeping), the rest are paid. Then:
//   - the budget holds exactly LIMIT redemptions, all used: never LIMIT + 1, none lost when a
//     reservation was released (the ledger's counters equal the orders' final states);
//   - no customer holds more than one (limitPerCustomer 1);
//   - every paid order's discount is in Postgres exactly once (orders and promotion_redemptions),
//     and the reconciliation finds no drift once the consumer has caught up.
// The second case kills the runtime with SIGKILL mid-rush, starts it again on the same state,
// lets every client retry what the crash cut off (same Idempotency-Key, same event id), and
// checks the same counts.
//
// The default run is small (limit 100); the full run:
//   PROMOTION_RUSH_LIMIT=500 PROMOTION_RUSH_ATTEMPTS=10000 PROMOTION_RUSH_USERS=5000 \
//   PROMOTION_RUSH_CONCURRENCY=100 npx vitest run --project e2e test/e2e/promotion-rush.test.ts
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type E2eStack,
  eventually,
  expectAuditBalanced,
  type HttpResult,
  httpVia,
  newId,
  type RequestOptions,
  signPayment,
  startE2eStack,
} from "../support/e2e.ts";

const LIMIT = Number(process.env.PROMOTION_RUSH_LIMIT ?? 100);
const ATTEMPTS = Number(process.env.PROMOTION_RUSH_ATTEMPTS ?? LIMIT * 10);
const USERS = Number(process.env.PROMOTION_RUSH_USERS ?? LIMIT * 5);
const CONCURRENCY = Number(process.env.PROMOTION_RUSH_CONCURRENCY ?? 100);
/** One in CANCEL_EVERY placed orders is cancelled, one in EXPIRE_EVERY (cart checkouts) expires; the rest are paid. */
const CANCEL_EVERY = 6;
const EXPIRE_EVERY = 5;
/** The last part of the rush pays everything it places, so the releases before it are taken again. */
const SETTLE_FROM = 0.8;
const PRICE = 2_000;
const DISCOUNT = 300; // fixed off per order
const STRIPES = 4;
const TIMEOUT_MS = Number(process.env.PROMOTION_RUSH_TIMEOUT_MS ?? 1_500_000);

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack({ mode: "start", databaseName: "edge_cart_e2e_promotion_rush", poolSize: 2 });
}, 240_000);

afterAll(async () => {
  agent.destroy();
  await stack?.stop();
});

interface Rush {
  promotionId: string;
  code: string;
  cartSku: string;
  flashSku: string;
}

interface Placed {
  orderId: string;
  userId: string;
  total: number;
  discount: number;
}

/**
 * The runtime as clients see it: while it is down (between crash() and its restart) every
 * request that fails to connect waits for it and is sent again, unchanged — a checkout or flash
 * buy with the same Idempotency-Key, a payment with the same event id.
 */
class Runtime {
  private down: Promise<void> | null = null;
  private crashed = false;
  retried = 0;

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
    for (let tries = 1; ; tries++) {
      const pending = this.down;
      try {
        if (pending) await pending;
        const res = await httpVia(agent, stack.baseUrl, method, path, opts);
        // The first answers after a restart may be the stack's own 503s (a waking actor, a paced alarm).
        if (res.status !== 503 || tries >= 20) return res;
      } catch (err) {
        if (process.env.E2E_VERBOSE) console.log(`[e2e] ${method} ${path} try ${tries}: ${String(err)}`);
        // Cut off by the crash, or a kept-alive socket the server had just closed: sent again.
        if (tries >= (this.crashed ? 20 : 5)) throw err;
      }
      this.retried++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** kill -9 of the Worker's process group, then a start on the same state; requests wait meanwhile. */
  crash(): Promise<void> {
    this.crashed = true;
    this.down ??= (async () => {
      await stack.faults.crashWorker();
      await stack.faults.restartWorker();
    })().finally(() => {
      this.down = null;
    });
    return this.down;
  }
}

const tokens = new Map<string, Record<string, string>>();
async function as(userId: string): Promise<Record<string, string>> {
  let headers = tokens.get(userId);
  if (!headers) {
    headers = await stack.api.user(userId);
    tokens.set(userId, headers);
  }
  return headers;
}

async function setUp(label: string): Promise<Rush> {
  const rush: Rush = {
    promotionId: newId(`rush-${label}`),
    code: `RUSH${label.toUpperCase()}${Date.now().toString(36).toUpperCase()}`,
    cartSku: newId(`rush-cart-${label}`),
    flashSku: newId(`rush-flash-${label}`),
  };
  for (const skuId of [rush.cartSku, rush.flashSku]) {
    const put = await stack.api.putSku(skuId, {
      productId: `prod-${skuId}`,
      name: "Rush Hoodie",
      merchantId: "m-rush",
      price: PRICE,
      stock: 1_000_000,
      stripes: STRIPES,
    });
    expect(put.status, put.text).toBe(201);
  }
  const created = await stack.api.request("PUT", `/v1/admin/promotions/${rush.promotionId}`, {
    headers: stack.api.admin(),
    body: {
      code: rush.code,
      kind: "fixed",
      value: DISCOUNT,
      currency: "USD",
      limit: LIMIT,
      limitPerCustomer: 1,
      stripes: STRIPES,
      active: true,
    },
  });
  expect(created.status, created.text).toBe(201);
  return rush;
}

/** One attempt: a cart checkout with the code applied (even i) or a flash buy-now carrying it (odd i). */
async function attempt(rt: Runtime, rush: Rush, i: number, userId: string): Promise<Placed | string> {
  const headers = await as(userId);
  const key = `${rush.promotionId}-${i}`;
  let res: HttpResult;
  if (i % 2 === 1) {
    res = await rt.request("POST", `/v1/flash/${rush.flashSku}/orders`, {
      headers: { ...headers, "idempotency-key": key },
      body: { quantity: 1, code: rush.code },
    });
  } else {
    const add = await rt.request("POST", "/v1/cart/items", { headers, body: { skuId: rush.cartSku, quantity: 1 } });
    if (add.status !== 200) throw new Error(`add ${i}: ${add.status} ${add.text}`);
    const applied = await rt.request("POST", "/v1/cart/promotions", { headers, body: { code: rush.code } });
    if (applied.status === 409) return applied.body.code;
    if (applied.status !== 200) throw new Error(`apply ${i}: ${applied.status} ${applied.text}`);
    res = await rt.request("POST", "/v1/checkout", {
      headers: { ...headers, "idempotency-key": key },
      body: { skuIds: [rush.cartSku], expectedTotal: applied.body.totals.total },
    });
  }
  if (res.status === 409) return res.body.code;
  if (res.status !== 201 && res.status !== 200) throw new Error(`order ${i}: ${res.status} ${res.text}`);
  const discount = (res.body.discounts ?? []).reduce((sum: number, d: { amount: number }) => sum + d.amount, 0);
  return { orderId: res.body.orderId, userId, total: res.body.total, discount };
}

/**
 * What becomes of the n-th placed order: cancelled, expired (the clock of the actor that keeps it
 * moves past its expiry: a checkout's own order actor, or a flash order's stock stripe, where other
 * buyers' unpaid orders may expire with it) or paid.
 */
async function settle(
  rt: Runtime,
  placed: Placed,
  n: number,
  final: boolean,
): Promise<"paid" | "cancelled" | "expired"> {
  const { orderId, userId } = placed;
  if (!final && n % CANCEL_EVERY === 1) {
    const res = await rt.request("POST", `/v1/orders/${orderId}/cancel`, { headers: await as(userId) });
    if (res.status !== 200 && res.body?.code !== "ORDER_NOT_PENDING")
      throw new Error(`cancel ${orderId}: ${res.status} ${res.text}`);
    return "cancelled";
  }
  if (!final && n % EXPIRE_EVERY === 2) {
    const res = await rt.request("POST", `/v1/dev/orders/${orderId}/advance-clock`, {
      headers: stack.api.admin(),
      body: { advanceMs: 16 * 60_000 },
    });
    if (res.status !== 200) throw new Error(`expire ${orderId}: ${res.status} ${res.text}`);
    return "expired";
  }
  const raw = JSON.stringify({
    eventId: `evt-${orderId}`,
    type: "payment.succeeded",
    orderId,
    transactionId: `tx-${orderId}`,
    amount: placed.total,
    currency: "USD",
  });
  const res = await rt.request("POST", "/v1/payments/webhook", {
    headers: { "payment-signature": signPayment(raw, stack.secrets.PAYMENT_WEBHOOK_SECRET) },
    body: raw,
  });
  if (res.status !== 200) throw new Error(`pay ${orderId}: ${res.status} ${res.text}`);
  return "paid";
}

interface RushResult {
  placed: Placed[];
  refusals: Record<string, number>;
  fates: Record<"paid" | "cancelled" | "expired", number>;
  /** The most redemptions the ledger held (used + reserved) in any sample during the rush. */
  peak: number;
  seconds: number;
}

/**
 * ATTEMPTS attempts by USERS users, CONCURRENCY at once; user of attempt i = i / (ATTEMPTS /
 * USERS), so one user's attempts are neighbours and run at the same time. `onPlaced` sees every
 * placed order (the crash case pulls its trigger there).
 */
async function runRush(rt: Runtime, rush: Rush, onPlaced: (n: number) => void = () => undefined): Promise<RushResult> {
  const perUser = Math.max(1, Math.ceil(ATTEMPTS / USERS));
  const placed: Placed[] = [];
  const refusals: Record<string, number> = {};
  const fates = { paid: 0, cancelled: 0, expired: 0 };
  let next = 0;
  const t0 = performance.now();
  // "Never LIMIT + 1" at any moment, not only at the end: the ledger's counters, read once a second.
  let peak = 0;
  const sampler = setInterval(() => {
    budget(rush.promotionId)
      .then((b) => {
        peak = Math.max(peak, b.used + b.reserved);
      })
      .catch(() => undefined); // the runtime is down (crash case)
  }, 1_000);
  let failed = false;
  const worker = async () => {
    for (let i = next++; i < ATTEMPTS && !failed; i = next++) {
      const userId = `rush-${rush.promotionId}-${Math.floor(i / perUser)}`;
      const outcome = await attempt(rt, rush, i, userId);
      if (typeof outcome === "string") {
        refusals[outcome] = (refusals[outcome] ?? 0) + 1;
        continue;
      }
      placed.push(outcome);
      const n = placed.length;
      onPlaced(n);
      fates[await settle(rt, outcome, n, i >= ATTEMPTS * SETTLE_FROM)]++;
    }
  };
  // On a failure every client stops before the test ends (none may run on into the next test).
  const settled = await Promise.allSettled(
    Array.from({ length: CONCURRENCY }, () =>
      worker().catch((err: unknown) => {
        failed = true;
        throw err;
      }),
    ),
  );
  clearInterval(sampler);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  return { placed, refusals, fates, peak, seconds: (performance.now() - t0) / 1000 };
}

async function budget(promotionId: string): Promise<{ used: number; reserved: number; remaining: number }> {
  const res = await stack.api.get(`/v1/admin/promotions/${promotionId}`, stack.api.admin());
  if (res.status !== 200) throw new Error(`promotion ${promotionId}: ${res.status} ${res.text}`);
  const { used, reserved, remaining } = res.body;
  return { used, reserved, remaining };
}

/** Redemptions the rush released and nobody took again (their release came after the last attempts): fresh buyers who pay. */
async function takeWhatIsLeft(rt: Runtime, rush: Rush, placed: Placed[]): Promise<number> {
  let extra = 0;
  for (let round = 0; round < 5; round++) {
    // Cancels and expiries give their redemptions back through the order's outbox: let them land.
    const { remaining } = await eventually(
      async () => {
        const b = await budget(rush.promotionId);
        expect(b.reserved, "redemptions still held after every order was settled").toBe(0);
        return b;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    if (remaining === 0) break;
    await Promise.all(
      Array.from({ length: remaining }, async (_, j) => {
        const i = ATTEMPTS + extra + j;
        const outcome = await attempt(rt, rush, i, `late-${rush.promotionId}-${i}`);
        if (typeof outcome === "string") return;
        placed.push(outcome);
        await settle(rt, outcome, i, true);
      }),
    );
    extra += remaining;
  }
  return extra;
}

/** On a failure: the ledger's reservations the audit still shows as held, and what the test knows of each. */
async function heldRedemptions(rt: Runtime, rush: Rush, placed: Placed[]): Promise<string> {
  const { rows } = await stack.db.query(
    `select ref_id, sum(reserved_delta)::int as held, array_agg(kind || ':' || reason order by id) as history
       from inventory_audit where sku_id = $1 group by ref_id having sum(reserved_delta) <> 0`,
    [`promotion:${rush.promotionId}`],
  );
  const known = new Map(placed.map((p) => [p.orderId, p]));
  const states = await finalStates(
    rt,
    placed.filter((p) => rows.some((r) => String(r.ref_id).includes(p.orderId))),
  );
  return JSON.stringify(
    rows.map((r) => {
      const order = [...known.keys()].find((id) => String(r.ref_id).includes(id));
      return { ...r, order: order ?? "unknown to the clients", state: order ? states.get(order) : null };
    }),
  );
}

/** Every placed order as its owner reads it now. */
async function finalStates(rt: Runtime, placed: Placed[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  const queue = [...placed];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let p = queue.pop(); p; p = queue.pop()) {
        const res = await rt.request("GET", `/v1/orders/${p.orderId}`, { headers: await as(p.userId) });
        if (res.status !== 200) throw new Error(`order ${p.orderId}: ${res.status} ${res.text}`);
        states.set(p.orderId, res.body.status);
      }
    }),
  );
  return states;
}

/** The counts of docs/invariants.md 10, from the ledger, the orders and Postgres. */
async function expectExactCounts(rt: Runtime, rush: Rush, placed: Placed[]): Promise<void> {
  const byId = new Map(placed.map((p) => [p.orderId, p]));
  expect(byId.size, "one answer per order (a retry returns the same order)").toBe(placed.length);
  for (const p of placed) expect(p.discount, `order ${p.orderId} carries the discount`).toBe(DISCOUNT);

  // Releases travel through the order's outbox: wait until nothing is in flight.
  const states = await eventually(
    async () => {
      const s = await finalStates(rt, placed);
      const pending = [...s.values()].filter((st) => st === "PENDING").length;
      expect(pending, "every order was paid, cancelled or expired").toBe(0);
      return s;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  const paid = placed.filter((p) => states.get(p.orderId) === "PAID");
  const byState: Record<string, number> = {};
  for (const st of states.values()) byState[st] = (byState[st] ?? 0) + 1;
  console.log(`[e2e] the ${placed.length} orders in the end: ${JSON.stringify(byState)}`);
  const counters = await eventually(
    async () => {
      const c = await budget(rush.promotionId);
      expect(c).toEqual({ used: paid.length, reserved: 0, remaining: 0 });
      return c;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  expect(counters.used + counters.reserved, "exactly the limit, never one more").toBe(LIMIT);

  // Per customer: one redemption at most (limitPerCustomer 1), counted from the orders.
  const perCustomer = new Map<string, number>();
  for (const p of paid) perCustomer.set(p.userId, (perCustomer.get(p.userId) ?? 0) + 1);
  expect(Math.max(...perCustomer.values()), "per-customer limit").toBe(1);

  // Postgres, once the consumer has caught up with the ledger (its audit rows sum to the counters).
  const ledger = `promotion:${rush.promotionId}`;
  await eventually(
    async () => {
      const { rows } = await stack.db.query(
        `select coalesce(sum(sold_delta), 0)::int as used, coalesce(sum(reserved_delta), 0)::int as reserved
           from inventory_audit where sku_id = $1`,
        [ledger],
      );
      expect(rows[0]).toEqual({ used: counters.used, reserved: 0 });
      const redeemed = await stack.db.query(
        "select count(*)::int as n from promotion_redemptions where promotion_id = $1 and status = 'redeemed'",
        [rush.promotionId],
      );
      expect(redeemed.rows[0].n).toBe(paid.length);
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
  const ids = placed.map((p) => p.orderId);
  const { rows: orderRows } = await stack.db.query(
    "select order_id, status, discount, total from orders where order_id = any($1::text[])",
    [ids],
  );
  const paidInPg = orderRows.filter((r) => r.status === "PAID");
  expect(paidInPg.map((r) => r.order_id).sort()).toEqual(paid.map((p) => p.orderId).sort());
  for (const r of paidInPg) expect(r, `order ${r.order_id}`).toMatchObject({ discount: DISCOUNT });
  const { rows: redemptionRows } = await stack.db.query(
    `select order_id, customer_id, amount, status from promotion_redemptions where promotion_id = $1 and status = 'redeemed'`,
    [rush.promotionId],
  );
  expect(redemptionRows.map((r) => r.order_id).sort(), "each paid order's discount exactly once").toEqual(
    paid.map((p) => p.orderId).sort(),
  );
  for (const r of redemptionRows) expect(r.amount).toBe(DISCOUNT);
  expect(new Set(redemptionRows.map((r) => r.customer_id)).size, "one per customer in Postgres").toBe(
    redemptionRows.length,
  );

  // The reconciliation agrees, with the consumer caught up for the stock too.
  for (const skuId of [rush.cartSku, rush.flashSku]) await expectAuditBalanced(stack, skuId, 120_000);
  const report = await stack.api.post("/v1/admin/reconcile", {}, stack.api.admin());
  expect(report.status, report.text).toBe(200);
  expect(
    report.body.promotions.drifting.filter((d: { promotionId: string }) => d.promotionId === rush.promotionId),
  ).toEqual([]);
  expect(
    report.body.drifting.filter((d: { skuId: string }) => [ledger, rush.cartSku, rush.flashSku].includes(d.skuId)),
  ).toEqual([]);
}

function summary(label: string, r: RushResult, extra: number, rt: Runtime): string {
  return `[e2e] promotion rush ${label}: limit ${LIMIT}, ${ATTEMPTS} attempts by ${USERS} users, ${CONCURRENCY} at once: ${r.seconds.toFixed(1)} s (${(ATTEMPTS / r.seconds).toFixed(0)} attempts/s); ${r.placed.length} orders placed (the clients chose ${JSON.stringify(r.fates)}), refusals ${JSON.stringify(r.refusals)}, ${extra} late attempts, ${rt.retried} requests retried; at most ${r.peak} used + reserved`;
}

describe(`promotion rush: limit ${LIMIT}, ${ATTEMPTS} attempts by ${USERS} users, ${CONCURRENCY} at once`, () => {
  it(
    "exactly the limit is redeemed, per-customer limits hold, and every paid discount is in Postgres once",
    async () => {
      const rush = await setUp("a");
      const rt = new Runtime();
      const result = await runRush(rt, rush);
      const extra = await takeWhatIsLeft(rt, rush, result.placed);
      console.log(summary("", result, extra, rt));
      expect(result.peak, "used + reserved never above the limit").toBeLessThanOrEqual(LIMIT);
      expect(result.refusals.PROMOTION_EXHAUSTED ?? 0).toBeGreaterThan(0);
      await expectExactCounts(rt, rush, result.placed);
    },
    TIMEOUT_MS,
  );

  it(
    "kill -9 of the runtime mid-rush, a restart, and the same counts hold",
    async () => {
      const rush = await setUp("b");
      const rt = new Runtime();
      let crashed: Promise<void> | null = null;
      const result = await runRush(rt, rush, (n) => {
        if (n >= LIMIT / 2) crashed ??= rt.crash();
      });
      expect(crashed, "the runtime was killed mid-rush").not.toBeNull();
      await crashed;
      console.log(summary("with kill -9 (before the late attempts)", result, 0, rt));
      const extra = await takeWhatIsLeft(rt, rush, result.placed).catch(async (err) => {
        console.log(`[e2e] held redemptions: ${await heldRedemptions(rt, rush, result.placed)}`);
        throw err;
      });
      console.log(summary("with kill -9", result, extra, rt));
      expect(result.peak, "used + reserved never above the limit").toBeLessThanOrEqual(LIMIT);
      await expectExactCounts(rt, rush, result.placed);
    },
    TIMEOUT_MS,
  );
});
