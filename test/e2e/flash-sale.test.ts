// THE no-oversell test: a burst of concurrent flash buys against one 100-unit SKU over real
// HTTP, then the live counters, every order (owner can read it, nobody else can), the
// purchase limit, and Postgres (one row per order, audit balanced) after the queue drains.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  httpVia,
  isDevProxyDrop,
  isProblem,
  newId,
  startE2eStack,
  type E2eStack,
  type HttpResult,
} from "../support/e2e.ts";

let stack: E2eStack;
/** Keep-alive connections the burst shares: every request is in flight at once, over at most this many sockets. */
const BURST_SOCKETS = 64;
const agent = new http.Agent({ keepAlive: true, maxSockets: BURST_SOCKETS });

beforeAll(async () => {
  stack = await startE2eStack();
  console.log(`[e2e] stack started in ${stack.startSeconds.toFixed(1)} s`);
});

afterAll(async () => {
  agent.destroy();
  await stack?.stop();
});

interface Attempt {
  userId: string;
  key: string;
  res: HttpResult;
  /** Sent again after a wrangler-dev proxy drop (so a 200 replay counts as the success). */
  retried: boolean;
}

/** Fires `perUser` buys (quantity 1, own Idempotency-Key) for each user, all at once. */
async function burst(skuId: string, users: string[], perUser: number, label: string): Promise<Attempt[]> {
  const tokens = new Map(await Promise.all(users.map(async (u) => [u, await stack.api.user(u)] as const)));
  const requests: { userId: string; key: string }[] = [];
  // Interleaved (u1 r1, u2 r1, ..., u1 r2, ...) so one user's requests are spread over the burst.
  for (let r = 0; r < perUser; r++)
    for (const userId of users) requests.push({ userId, key: `${label}-${userId}-${r}` });
  let proxyRetries = 0;
  const buy = async ({ userId, key }: { userId: string; key: string }): Promise<Attempt> => {
    for (let tries = 1; ; tries++) {
      const res = await httpVia(agent, stack.baseUrl, "POST", `/v1/flash/${skuId}/orders`, {
        headers: { ...tokens.get(userId)!, "idempotency-key": key },
        body: { quantity: 1 },
        signal: AbortSignal.timeout(170_000),
      });
      // A drop by wrangler dev's proxy is retried with the same key, as a real client would:
      // the API must then answer with the one order of that key (or the same refusal).
      if (!isDevProxyDrop(res) || tries === 5) return { userId, key, res, retried: tries > 1 };
      proxyRetries++;
    }
  };
  const t0 = performance.now();
  const results = await Promise.all(requests.map(buy));
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `[e2e] ${label}: ${requests.length} concurrent flash buys from ${users.length} users (${BURST_SOCKETS} keep-alive sockets) in ${seconds.toFixed(2)} s ` +
      `(${(requests.length / seconds).toFixed(0)} req/s); statuses ${JSON.stringify(countBy(results, (a) => String(a.res.status)))}` +
      (proxyRetries ? `; ${proxyRetries} retries after wrangler-dev proxy drops` : ""),
  );
  return results;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

/** Checks shared by both scenarios; returns the successful attempts. */
async function checkBurst(skuId: string, attempts: Attempt[], stock: number, limit: number): Promise<Attempt[]> {
  // A success is a 201, or a 200 replay when the first send was dropped by the dev proxy
  // after the Worker had already placed the order.
  const won = (a: Attempt) => a.res.status === 201 || (a.retried && a.res.status === 200);
  const wins = attempts.filter(won);
  const losses = attempts.filter((a) => !won(a));

  // Exactly the stock was sold, no more, no less (every refusal below is a clean 409).
  expect(wins).toHaveLength(stock);
  for (const a of losses) {
    expect(a.res.status, a.res.text).toBe(409);
    expect(isProblem(a.res), a.res.text).toBe(true);
    expect(["SOLD_OUT", "LIMIT_EXCEEDED"]).toContain(a.res.body.code);
  }

  // Nobody got more than the purchase limit.
  const perUser = countBy(wins, (a) => a.userId);
  expect(Math.max(...Object.values(perUser))).toBeLessThanOrEqual(limit);

  // Every success is a real, distinct PENDING order for one unit of this SKU.
  expect(new Set(wins.map((a) => a.res.body.orderId)).size).toBe(stock);
  for (const a of wins) {
    expect(a.res.body).toMatchObject({
      status: "PENDING",
      currency: "USD",
      total: 500,
      items: [{ skuId, quantity: 1, unitPrice: 500, lineTotal: 500 }],
    });
    expect(a.res.body.orderId).toMatch(new RegExp(`^fl_[0-9a-f]{32}\\.\\d+\\.${skuId}$`));
  }

  // The live counters: everything reserved, nothing left, nothing sold yet.
  const counters = await stack.api.skuCounters(skuId);
  expect(counters).toMatchObject({ onHand: stock, reserved: stock, sold: 0, available: 0 });
  return wins;
}

/** Every winner reads its own order; another user gets 404 for it. */
async function checkOwnership(skuId: string, wins: Attempt[]): Promise<void> {
  const stranger = await stack.api.user(newId("stranger"));
  const tokens = new Map<string, Record<string, string>>();
  for (const a of wins) if (!tokens.has(a.userId)) tokens.set(a.userId, await stack.api.user(a.userId));
  // In chunks: these are plain reads, no need to hammer.
  for (let i = 0; i < wins.length; i += 25) {
    await Promise.all(
      wins.slice(i, i + 25).map(async (a) => {
        const id = a.res.body.orderId as string;
        const own = await stack.api.get(`/v1/orders/${id}`, tokens.get(a.userId)!);
        expect(own.status, own.text).toBe(200);
        expect(own.body).toMatchObject({
          orderId: id,
          status: "PENDING",
          items: [{ skuId, quantity: 1 }],
          payments: [],
        });
        const other = await stack.api.get(`/v1/orders/${id}`, stranger);
        expect(other.status).toBe(404);
        expect(other.body.code).toBe("NOT_FOUND");
        expect(other.text).not.toContain(skuId); // nothing of the order leaks
      }),
    );
  }
}

/** After the queue drains: one orders row per win, and the audit sums to the live counters. */
async function checkPostgres(skuId: string, wins: Attempt[]): Promise<void> {
  const counters = await stack.api.skuCounters(skuId);
  const expectedIds = wins.map((a) => a.res.body.orderId as string).sort();
  await eventually(
    async () => {
      const { rows } = await stack.db.query(
        `select o.order_id, o.status, o.owner_id, oi.quantity
           from orders o join order_items oi on oi.order_id = o.order_id
          where oi.sku_id = $1 order by o.order_id`,
        [skuId],
      );
      expect(rows.map((r) => r.order_id)).toEqual(expectedIds);
      expect(rows.every((r) => r.status === "PENDING" && r.quantity === 1)).toBe(true);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  // order_id is the primary key of orders, but check there is one order_items row per order too.
  const { rows: dup } = await stack.db.query(
    "select order_id, count(*)::int as n from order_items where sku_id = $1 group by order_id having count(*) > 1",
    [skuId],
  );
  expect(dup).toEqual([]);
  // Owners in Postgres match who bought.
  const { rows: owners } = await stack.db.query("select order_id, owner_id from orders where order_id = any($1)", [
    expectedIds,
  ]);
  const ownerOf = new Map(owners.map((r) => [r.order_id as string, r.owner_id as string]));
  for (const a of wins) expect(ownerOf.get(a.res.body.orderId)).toBe(`user:${a.userId}`);

  const audit = await eventually(
    async () => {
      const { rows } = await stack.db.query(
        `select coalesce(sum(on_hand_delta), 0)::int as on_hand, coalesce(sum(reserved_delta), 0)::int as reserved,
                coalesce(sum(sold_delta), 0)::int as sold, count(*) filter (where kind = 'reserve')::int as reserves
           from inventory_audit where sku_id = $1`,
        [skuId],
      );
      expect(rows[0]).toEqual({
        on_hand: counters.onHand,
        reserved: counters.reserved,
        sold: counters.sold,
        reserves: wins.length,
      });
      return rows[0];
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(audit.reserved).toBe(wins.length);
  // The catalog row's counters follow the newest movement.
  await eventually(
    async () => {
      const { rows } = await stack.db.query("select on_hand, reserved, sold from skus where sku_id = $1", [skuId]);
      expect(rows).toEqual([{ on_hand: counters.onHand, reserved: counters.reserved, sold: counters.sold }]);
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  // Each reserve row points at one of the winning orders, once.
  const { rows: refs } = await stack.db.query(
    "select ref_id from inventory_audit where sku_id = $1 and kind = 'reserve' order by ref_id",
    [skuId],
  );
  expect(refs.map((r) => r.ref_id)).toEqual(expectedIds);
}

/** `count` buyer ids: `<prefix>-u0`, `<prefix>-u1`, ... */
const userIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-u${i}`);

/** PUTs the sale's SKU (100 units at 500, at most 2 per buyer) under a new id and returns that id. */
async function openFlashSale(idPrefix: string, name: string): Promise<string> {
  const skuId = newId(idPrefix);
  const put = await stack.api.putSku(skuId, {
    productId: "prod-flash",
    name,
    merchantId: "m-flash",
    price: 500,
    stock: 100,
    purchaseLimit: 2,
  });
  expect(put.status).toBe(201);
  return skuId;
}

describe("flash sale: 100 units, purchase limit 2", () => {
  it("1000 concurrent buys from 500 users (2 each): exactly 100 orders, no oversell, Postgres agrees", async () => {
    const skuId = await openFlashSale("sku-flash", "Flash Sneaker");

    const attempts = await burst(skuId, userIds("fs1", 500), 2, "burst-500x2");
    expect(attempts).toHaveLength(1000);
    const wins = await checkBurst(skuId, attempts, 100, 2);
    expect(
      attempts
        .filter((a) => a.res.status === 409)
        .every((a) => a.res.body.code === "SOLD_OUT" || a.res.body.code === "LIMIT_EXCEEDED"),
    ).toBe(true);
    await checkOwnership(skuId, wins);
    await checkPostgres(skuId, wins);

    // Replaying a winning request returns the same order (200) and takes nothing more.
    const w = wins[0]!;
    const replay = await stack.api.request("POST", `/v1/flash/${skuId}/orders`, {
      headers: { ...(await stack.api.user(w.userId)), "idempotency-key": w.key },
      body: { quantity: 1 },
    });
    expect(replay.status).toBe(200);
    expect(replay.body.orderId).toBe(w.res.body.orderId);
    expect(await stack.api.skuCounters(skuId)).toMatchObject({ reserved: 100, available: 0 });
  });

  it("300 concurrent buys from 50 users (6 each): the limit bites, nobody above 2", async () => {
    const skuId = await openFlashSale("sku-flash-limit", "Flash Hoodie");
    const users = userIds("fs2", 50);

    const attempts = await burst(skuId, users, 6, "burst-50x6");
    expect(attempts).toHaveLength(300);
    const wins = await checkBurst(skuId, attempts, 100, 2);
    // 50 users x limit 2 = exactly the stock: everyone got exactly 2, every refusal is the limit.
    const perUser = countBy(wins, (a) => a.userId);
    expect(Object.keys(perUser)).toHaveLength(50);
    expect(Object.values(perUser).every((n) => n === 2)).toBe(true);
    const codes = countBy(
      attempts.filter((a) => a.res.status === 409),
      (a) => a.res.body.code as string,
    );
    expect(codes.LIMIT_EXCEEDED ?? 0).toBeGreaterThan(0);
    expect((codes.LIMIT_EXCEEDED ?? 0) + (codes.SOLD_OUT ?? 0)).toBe(200);
    await checkOwnership(skuId, wins);
    await checkPostgres(skuId, wins);

    // GET /v1/orders lists exactly each buyer's own orders, newest first.
    for (const userId of users.slice(0, 10)) {
      const mine = wins.filter((a) => a.userId === userId).map((a) => a.res.body.orderId as string);
      await eventually(async () => {
        const list = await stack.api.get("/v1/orders", await stack.api.user(userId));
        expect(list.status).toBe(200);
        expect(list.body.items.map((o: any) => o.orderId).sort()).toEqual([...mine].sort());
        const created = list.body.items.map((o: any) => Date.parse(o.createdAt));
        expect(created).toEqual([...created].sort((a, b) => b - a));
      });
    }
  });
});
