// dev/serve-worker.ts (what `npm start` runs): the built Worker answers, gets the config's vars
// and the extra ones, and a cron trigger reaches its scheduled() with the cron and the time.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveWorker, type ServedWorker } from "../../dev/serve-worker.ts";

const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "serve-worker-test-"));
let served: ServedWorker;

beforeAll(async () => {
  served = await serveWorker({
    config: "test/dev/cron-worker/wrangler.toml",
    port: 0,
    buildDir,
    persistTo: null,
    vars: { EXTRA: "x:y" },
    crons: false,
  });
});

afterAll(async () => {
  await served?.stop();
  fs.rmSync(buildDir, { recursive: true, force: true });
});

describe("serveWorker", () => {
  it("serves the bundle with the config's vars and the extra ones, and reads the crons", async () => {
    expect(fs.existsSync(path.join(buildDir, "index.js"))).toBe(true);
    const res = await fetch(served.url);
    expect(await res.json()).toEqual({ last: null, FROM_CONFIG: "yes", EXTRA: "x:y" });
    expect(served.crons).toEqual(["*/5 * * * *"]);
  });

  it("runs scheduled() for a trigger, with its cron and time, and reports a failure", async () => {
    const at = new Date("2026-11-22T04:05:00Z");
    expect(await served.trigger("*/5 * * * *", at)).toBe("ok");
    expect(((await (await fetch(served.url)).json()) as { last: unknown }).last).toEqual({
      cron: "*/5 * * * *",
      scheduledTime: at.getTime(),
    });
    expect(await served.trigger("fail", at)).toBe("exception");
  });
});
