// The runtime floor: a trivial Worker (reads the body, answers JSON) served like `npm start`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startChild } from "../lib/servers.ts";
import type { Target } from "../targets.ts";
import { Cleanups } from "./shared.ts";

export const floor: Target = {
  name: "floor",
  description: "runtime floor: a trivial Worker (reads the body, answers JSON) served like npm start",
  async start() {
    const cleanups = new Cleanups();
    const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-floor-"));
    cleanups.add(async () => fs.rmSync(buildDir, { recursive: true, force: true }));
    const options = {
      config: "bench/floor-worker/wrangler.toml",
      port: 0,
      buildDir,
      persistTo: null,
      vars: {},
      crons: false,
    };
    const child = await startChild("dev/serve-worker.ts", [JSON.stringify(options)], {}, { startMs: 60_000 });
    cleanups.add(() => child.stop());
    return {
      baseUrl: (JSON.parse(child.ready) as { url: string }).url,
      pids: [child.pid],
      seed: async () => {},
      verify: async () => ({ checks: [], unitsTaken: null, ordersInPostgres: null, lastOrderSeconds: null }),
      stop: () => cleanups.run(),
    };
  },
};
