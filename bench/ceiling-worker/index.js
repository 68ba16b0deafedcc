// The runtime's own ceilings for edge-cart's hot paths: what a request costs when the Worker reads
// the body, calls a Durable Object and answers JSON, before any application code (no auth, no
// validation, no Redis, no queue). CEILING (a var) picks the work:
//   rpc    the SKU's actor, a constant answer: the flash path's hop with nothing done in it
//   write  the SKU's actor, a group-committed reservation: one SQLite transaction per batch of the
//          calls that arrived meanwhile, each a stock check and decrement, a reservation row and its
//          outbox row while stock lasts (seeded by the benchmark like edge-cart's), else SOLD_OUT
//   cart   one actor per X-Cart-Id (2,000 in the cart suite), SQLite-backed, a constant answer
import { DurableObject } from "cloudflare:workers";

export class Ceiling extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("create table if not exists stock(k text primary key, v integer)");
    sql.exec("insert or ignore into stock values('available', 1000000000)");
    sql.exec(
      "create table if not exists reservations(id text primary key, owner text, quantity integer, expires integer)",
    );
    sql.exec("create table if not exists outbox(seq integer primary key, body text)");
    this.pending = [];
    this.scheduled = false;
  }

  ping() {
    return 1;
  }

  /** The benchmark's seed: this SKU's stock, so a flash run sells out as it does on edge-cart. */
  setStock(units) {
    this.ctx.storage.sql.exec("update stock set v = ? where k = 'available'", units);
  }

  /** Joins the next batch; resolves once the batch's transaction committed. */
  reserve(id, owner) {
    return new Promise((resolve) => {
      this.pending.push({ id, owner, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.flush(), 0);
      }
    });
  }

  flush() {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    const sql = this.ctx.storage.sql;
    const results = this.ctx.storage.transactionSync(() => {
      let left = sql.exec("select v from stock where k = 'available'").one().v;
      const out = batch.map((p) => {
        if (left <= 0) return false;
        left--;
        sql.exec("insert into reservations values(?, ?, 1, ?)", p.id, p.owner, Date.now() + 900_000);
        sql.exec(
          "insert into outbox(body) values(?)",
          JSON.stringify({ type: "order.created", orderId: p.id, ownerId: p.owner, quantity: 1 }),
        );
        return true;
      });
      sql.exec("update stock set v = ? where k = 'available'", left);
      return out;
    });
    batch.forEach((p, i) => p.resolve(results[i]));
  }
}

const json = (body, status) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** The SKU of `/v1/flash/{skuId}/orders` (each SKU its own actor, as on edge-cart), else "hot". */
const skuOf = (url) => /^\/v1\/flash\/([^/]+)\/orders$/.exec(url.pathname)?.[1] ?? "hot";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = await request.text();
    const seed = /^\/__ceiling\/stock\/([^/]+)$/.exec(url.pathname);
    if (seed && request.method === "PUT") {
      await env.ACTORS.getByName(seed[1]).setStock(Number(url.searchParams.get("units")));
      return json({ ok: true }, 200);
    }
    const status = request.method === "POST" ? 201 : 200;
    switch (env.CEILING) {
      case "write": {
        // No per-buyer limit: past the stock every attempt is SOLD_OUT, so as many rows are written as on edge-cart.
        const orderId = `ce_${crypto.randomUUID().replaceAll("-", "")}`;
        const ok = await env.ACTORS.getByName(skuOf(url)).reserve(
          orderId,
          request.headers.get("idempotency-key") ?? "",
        );
        return ok ? json({ orderId, status: "PENDING" }, 201) : json({ code: "SOLD_OUT" }, 409);
      }
      case "cart":
        await env.ACTORS.getByName(request.headers.get("x-cart-id") ?? "none").ping();
        return json({ items: [], version: 1, bytes: body.length }, status);
      default:
        await env.ACTORS.getByName(skuOf(url)).ping();
        return json({ orderId: `ce_${crypto.randomUUID().replaceAll("-", "")}`, status: "PENDING" }, status);
    }
  },
};
