// What the benchmark runs against. Every target answers edge-cart's HTTP contract for the
// route it is measured on, and has the same shape: start() its servers, then seed() SKUs,
// then verify() a flash run from the server's own records.
//   postgres           bench/baselines/postgres.ts: a pg Pool, one row-lock transaction per buy
//   redis-lua          bench/baselines/redis-lua.ts: one EVALSHA per buy
//   edge-cart          the Worker as `npm start` serves it (dev/stack.ts mode "start"), fresh database
//   edge-cart-metrics-off  edge-cart with METRICS=off: the metrics' cost is edge-cart's attempts/s against this
//   edge-cart-striped  the same, every SKU split into BENCH_STRIPES stock stripes
//   floor              bench/floor-worker: reads the body, answers JSON, served like `npm start`
//   actor-rpc          bench/ceiling-worker: the floor plus a call to one actor with a constant answer
//   actor-write        bench/ceiling-worker: the floor plus a group-committed reservation + outbox row
//   cart-actors        bench/ceiling-worker: the floor plus a call to the cart's own actor (cart suite)
import { int, type TargetName } from "./config.ts";
import { postgres, redisLua } from "./targets/baselines.ts";
import { edgeCart } from "./targets/edge-cart.ts";
import { actorRpc, actorWrite, cartActors, floor } from "./targets/floor.ts";
import type { Target } from "./targets/target.ts";

const stripes = Math.min(64, Math.max(2, int("BENCH_STRIPES", 8)));

export const ALL_TARGETS: Record<TargetName, Target> = {
  postgres,
  "redis-lua": redisLua,
  "edge-cart": edgeCart("edge-cart", 1),
  "edge-cart-metrics-off": edgeCart("edge-cart-metrics-off", 1, { METRICS: "off" }),
  "edge-cart-striped": edgeCart("edge-cart-striped", stripes),
  floor,
  "actor-rpc": actorRpc,
  "actor-write": actorWrite,
  "cart-actors": cartActors,
};
