// The reference Workers, served like `npm start` serves edge-cart (dev/serve-worker.ts): the runtime
// floor (bench/floor-worker: reads the body, answers JSON) and the runtime ceilings
// (bench/ceiling-worker: the same plus one Durable Object call, docs/performance.md):
//   actor-rpc    Worker -> one actor, constant answer
//   actor-write  Worker -> the SKU's actor, a group-committed reservation row with its outbox row in SQLite
//                while the seeded stock lasts (then SOLD_OUT, no per-buyer limit)
//   cart-actors  Worker -> the cart's own SQLite actor (one per X-Cart-Id), constant answer
// Nothing is verified: they show what this runtime allows, not a correct shop.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startChild } from "../lib/servers.ts";
import type { Target } from "./target.ts";
import { Cleanups } from "./shared.ts";

function referenceWorker(
  name: Target["name"],
  description: string,
  config: string,
  vars: Record<string, string>,
  withState: boolean,
): Target {
  return {
    name,
    description,
    reference: true,
    async start() {
      const cleanups = new Cleanups();
      const tmp = (prefix: string) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
        cleanups.add(async () => fs.rmSync(dir, { recursive: true, force: true }));
        return dir;
      };
      const buildDir = tmp(`edge-cart-${name}-`);
      // Actor state on disk, like the stack's (a temporary directory).
      const persistTo = withState ? tmp(`edge-cart-${name}-state-`) : null;
      const options = { config, port: 0, buildDir, persistTo, vars, crons: false };
      const child = await startChild("dev/serve-worker.ts", [JSON.stringify(options)], {}, { startMs: 60_000 });
      cleanups.add(() => child.stop());
      const baseUrl = (JSON.parse(child.ready) as { url: string }).url;
      return {
        baseUrl,
        pids: [child.pid],
        // A ceiling's SKU actor gets the run's stock, so actor-write sells out when edge-cart does.
        async seed(sku) {
          if (!withState) return;
          const res = await fetch(`${baseUrl}/__ceiling/stock/${encodeURIComponent(sku.skuId)}?units=${sku.units}`, {
            method: "PUT",
          });
          if (!res.ok) throw new Error(`seeding ${sku.skuId}: ${res.status}`);
        },
        verify: async () => ({ checks: [], unitsTaken: null, ordersInPostgres: null, lastOrderSeconds: null }),
        stop: () => cleanups.run(),
      };
    },
  };
}

export const floor = referenceWorker(
  "floor",
  "runtime floor: a trivial Worker (reads the body, answers JSON) served like npm start",
  "bench/floor-worker/wrangler.toml",
  {},
  false,
);

const CEILING = "bench/ceiling-worker/wrangler.toml";
export const actorRpc = referenceWorker(
  "actor-rpc",
  "ceiling: Worker -> one SQLite actor, constant answer",
  CEILING,
  { CEILING: "rpc" },
  true,
);
export const actorWrite = referenceWorker(
  "actor-write",
  "ceiling: Worker -> one SQLite actor, group-committed reservation row + outbox row",
  CEILING,
  { CEILING: "write" },
  true,
);
export const cartActors = referenceWorker(
  "cart-actors",
  "ceiling: Worker -> the cart's own SQLite actor (one per cart), constant answer",
  CEILING,
  { CEILING: "cart" },
  true,
);
