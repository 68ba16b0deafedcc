// Baseline 3, a Redis Lua decrement: one EVALSHA per flash buy that, atomically inside
// Redis, replays an existing order of the key, checks the buyer's units against the limit,
// checks and decrements the stock, counts the buyer's units and records the order.
// One pipelined connection (dev/resp.ts): Redis runs scripts one at a time anyway.
//
// Keys (all under PREFIX, one SKU each):
//   {p}:sku:{skuId}     hash  available, limit, price, currency, status
//   {p}:buyers:{skuId}  hash  ownerId -> units held
//   {p}:orders:{skuId}  hash  orderId -> order JSON (orderId derives from owner + key: the idempotency record)
//
// Server: REDIS_URL=redis://127.0.0.1:6379 PREFIX=bench:xyz JWT_SECRET=... PORT=0 tsx bench/baselines/redis-lua.ts
import { createHash } from "node:crypto";
import { RespConnection, RespError, type RespValue } from "../../dev/resp.ts";
import { isMain } from "../../dev/util.ts";
import { placedOrder, serveFlash, type FlashOutcome, type FlashRequest } from "./common.ts";

const RESERVATION_TTL_SECONDS = 900;

export const FLASH_SCRIPT = `
local sku, buyers, orders = KEYS[1], KEYS[2], KEYS[3]
local owner, qty, orderId, now, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local existing = redis.call('HGET', orders, orderId)
if existing then return {'REPLAY', existing} end
local s = redis.call('HMGET', sku, 'available', 'limit', 'price', 'currency', 'status')
if not s[1] or s[5] ~= 'active' then return {'SKU_UNAVAILABLE', ''} end
local held = tonumber(redis.call('HGET', buyers, owner) or '0')
if s[2] and s[2] ~= '' and held + qty > tonumber(s[2]) then return {'LIMIT_EXCEEDED', tostring(held)} end
if tonumber(s[1]) < qty then return {'SOLD_OUT', s[1]} end
redis.call('HINCRBY', sku, 'available', -qty)
redis.call('HINCRBY', buyers, owner, qty)
local order = cjson.encode({orderId = orderId, ownerId = owner, skuId = ARGV[6], quantity = qty, unitPrice = tonumber(s[3]),
  currency = s[4], status = 'PENDING', createdAt = now, expiresAt = now + ttl * 1000})
redis.call('HSET', orders, orderId, order)
return {'OK', order}`;

export const FLASH_SHA = createHash("sha1").update(FLASH_SCRIPT).digest("hex");

export function redisKeys(prefix: string, skuId: string) {
  return { sku: `${prefix}:sku:${skuId}`, buyers: `${prefix}:buyers:${skuId}`, orders: `${prefix}:orders:${skuId}` };
}

export async function seedSku(
  conn: RespConnection,
  prefix: string,
  skuId: string,
  stock: number,
  purchaseLimit: number | null,
  price = 500,
): Promise<void> {
  const k = redisKeys(prefix, skuId);
  const replies = await conn.send([
    ["DEL", k.sku, k.buyers, k.orders],
    [
      "HSET",
      k.sku,
      "available",
      String(stock),
      "limit",
      purchaseLimit === null ? "" : String(purchaseLimit),
      "price",
      String(price),
      "currency",
      "USD",
      "status",
      "active",
    ],
  ]);
  for (const r of replies) if (r instanceof RespError) throw r;
}

interface StoredOrder {
  orderId: string;
  skuId: string;
  quantity: number;
  unitPrice: number;
  currency: string;
  expiresAt: number;
}

async function flashBuy(conn: RespConnection, prefix: string, r: FlashRequest): Promise<FlashOutcome> {
  const k = redisKeys(prefix, r.skuId);
  const args = [String(r.quantity), r.orderId, String(Date.now()), String(RESERVATION_TTL_SECONDS), r.skuId];
  let [reply] = await conn.send([["EVALSHA", FLASH_SHA, "3", k.sku, k.buyers, k.orders, r.ownerId, ...args]]);
  if (reply instanceof RespError && reply.message.startsWith("NOSCRIPT")) {
    [reply] = await conn.send([["EVAL", FLASH_SCRIPT, "3", k.sku, k.buyers, k.orders, r.ownerId, ...args]]);
  }
  if (reply instanceof RespError) throw reply;
  const [verdict, payload] = (reply as RespValue[]).map((v) => String(v));
  const order = (): StoredOrder => JSON.parse(payload!) as StoredOrder;
  switch (verdict) {
    case "OK": {
      const o = order();
      return {
        kind: "created",
        order: placedOrder(o.orderId, o.skuId, o.quantity, o.unitPrice, o.currency, new Date(o.expiresAt)),
      };
    }
    case "REPLAY": {
      const o = order();
      if (o.quantity !== r.quantity)
        return { kind: "refused", code: "IDEMPOTENCY_KEY_REUSED", detail: "this key was used for another request" };
      return {
        kind: "replayed",
        order: placedOrder(o.orderId, o.skuId, o.quantity, o.unitPrice, o.currency, new Date(o.expiresAt)),
      };
    }
    case "LIMIT_EXCEEDED":
      return {
        kind: "refused",
        code: "LIMIT_EXCEEDED",
        detail: `purchase limit of SKU ${r.skuId} reached (holding ${payload})`,
      };
    case "SOLD_OUT":
      return { kind: "refused", code: "SOLD_OUT", detail: `SKU ${r.skuId} is sold out` };
    default:
      return { kind: "refused", code: "SKU_UNAVAILABLE", detail: `SKU ${r.skuId} is not for sale` };
  }
}

if (isMain(import.meta.url)) {
  const prefix = process.env.PREFIX;
  if (!prefix) throw new Error("PREFIX is not set");
  const conn = await RespConnection.open(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  const [loaded] = await conn.send([["SCRIPT", "LOAD", FLASH_SCRIPT]]);
  if (loaded instanceof RespError) throw loaded;
  await serveFlash(
    (r) => flashBuy(conn, prefix, r),
    async () => conn.close(),
  );
}
