// Baseline 2, the relational design: one Postgres transaction per flash buy.
//   BEGIN
//   INSERT INTO orders ... ON CONFLICT (owner_id, idempotency_key) DO NOTHING   -- the idempotency record
//   INSERT INTO buyer_units ... ON CONFLICT DO UPDATE ... WHERE units + q <= limit -- the per-buyer limit
//   UPDATE stock SET available = available - q WHERE ... AND available >= q      -- the hot row, locked last
//   COMMIT
// The hot `stock` row is touched last so its row lock is held for one round trip (the
// COMMIT); every transaction takes its locks in the same order (key, buyer, stock), so there
// are no deadlocks. A refusal rolls everything back.
//
// Server: DATABASE_URL=... JWT_SECRET=... PORT=0 [PG_POOL_SIZE=20] tsx bench/baselines/postgres.ts
import pg from "pg";
import { isMain } from "../../dev/util.ts";
import { placedOrder, serveFlash, type FlashOutcome, type FlashRequest } from "./common.ts";

export const SCHEMA_SQL = `
create table if not exists stock (
  sku_id text primary key,
  available integer not null check (available >= 0),
  purchase_limit integer,
  price integer not null,
  currency text not null,
  status text not null default 'active'
);
create table if not exists buyer_units (
  sku_id text not null,
  owner_id text not null,
  units integer not null,
  primary key (sku_id, owner_id)
);
create table if not exists orders (
  order_id text primary key,
  owner_id text not null,
  idempotency_key text not null,
  sku_id text not null,
  quantity integer not null,
  unit_price integer not null,
  currency text not null,
  status text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  unique (owner_id, idempotency_key)
);`;

const RESERVATION_TTL_SECONDS = 900;

export async function seedSku(
  db: pg.ClientBase | pg.Pool,
  skuId: string,
  stock: number,
  purchaseLimit: number | null,
  price = 500,
): Promise<void> {
  await db.query(
    `insert into stock (sku_id, available, purchase_limit, price, currency) values ($1, $2, $3, $4, 'USD')
     on conflict (sku_id) do update set available = excluded.available, purchase_limit = excluded.purchase_limit, price = excluded.price`,
    [skuId, stock, purchaseLimit, price],
  );
}

async function flashBuy(pool: pg.Pool, r: FlashRequest): Promise<FlashOutcome> {
  const client = await pool.connect();
  let done = false;
  try {
    await client.query("begin");
    const order = await client.query<{ unit_price: number; currency: string; expires_at: Date }>(
      `insert into orders (order_id, owner_id, idempotency_key, sku_id, quantity, unit_price, currency, status, expires_at)
       select $1, $2, $3, s.sku_id, $5, s.price, s.currency, 'PENDING', now() + make_interval(secs => $6)
         from stock s where s.sku_id = $4 and s.status = 'active'
       on conflict (owner_id, idempotency_key) do nothing
       returning unit_price, currency, expires_at`,
      [r.orderId, r.ownerId, r.idempotencyKey, r.skuId, r.quantity, RESERVATION_TTL_SECONDS],
    );
    if (order.rowCount === 0) {
      await client.query("rollback");
      done = true;
      return replayOrUnavailable(client, r);
    }
    const units = await client.query(
      `insert into buyer_units as b (sku_id, owner_id, units)
       select s.sku_id, $2, $3 from stock s where s.sku_id = $1 and (s.purchase_limit is null or $3 <= s.purchase_limit)
       on conflict (sku_id, owner_id) do update set units = b.units + excluded.units
         where b.units + excluded.units <= coalesce((select purchase_limit from stock where sku_id = excluded.sku_id), 2147483647)
       returning units`,
      [r.skuId, r.ownerId, r.quantity],
    );
    if (units.rowCount === 0) {
      await client.query("rollback");
      done = true;
      return { kind: "refused", code: "LIMIT_EXCEEDED", detail: `purchase limit of SKU ${r.skuId} reached` };
    }
    const stock = await client.query(
      "update stock set available = available - $2 where sku_id = $1 and available >= $2 returning available",
      [r.skuId, r.quantity],
    );
    if (stock.rowCount === 0) {
      await client.query("rollback");
      done = true;
      return { kind: "refused", code: "SOLD_OUT", detail: `SKU ${r.skuId} is sold out` };
    }
    await client.query("commit");
    done = true;
    const row = order.rows[0]!;
    return {
      kind: "created",
      order: placedOrder(r.orderId, r.skuId, r.quantity, row.unit_price, row.currency, row.expires_at),
    };
  } finally {
    if (!done) await client.query("rollback").catch(() => undefined);
    client.release();
  }
}

/** The key already has an order (a retry or a concurrent duplicate: 200 with it), or the SKU is not for sale. */
async function replayOrUnavailable(client: pg.PoolClient, r: FlashRequest): Promise<FlashOutcome> {
  const { rows } = await client.query<{
    order_id: string;
    sku_id: string;
    quantity: number;
    unit_price: number;
    currency: string;
    expires_at: Date;
  }>(
    "select order_id, sku_id, quantity, unit_price, currency, expires_at from orders where owner_id = $1 and idempotency_key = $2",
    [r.ownerId, r.idempotencyKey],
  );
  const o = rows[0];
  if (!o) return { kind: "refused", code: "SKU_UNAVAILABLE", detail: `SKU ${r.skuId} is not for sale` };
  if (o.sku_id !== r.skuId || o.quantity !== r.quantity)
    return { kind: "refused", code: "IDEMPOTENCY_KEY_REUSED", detail: "this key was used for another request" };
  return {
    kind: "replayed",
    order: placedOrder(o.order_id, o.sku_id, o.quantity, o.unit_price, o.currency, o.expires_at),
  };
}

if (isMain(import.meta.url)) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("DATABASE_URL is not set");
  const options = process.env.PG_SYNCHRONOUS_COMMIT
    ? `-c synchronous_commit=${process.env.PG_SYNCHRONOUS_COMMIT}`
    : undefined;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.PG_POOL_SIZE ?? 20), options });
  pool.on("error", (err) => console.error("pg pool:", err.message));
  await pool.query(SCHEMA_SQL);
  await serveFlash(
    (r) => flashBuy(pool, r),
    () => pool.end(),
  );
}
