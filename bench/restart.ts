// Restart measurements (docs/invariants.md 8): how long the stack takes to serve after a crash
// with N actors holding due alarms, and what workerd does meanwhile.
//
//   npx tsx bench/restart.ts fill <carts> [dev|start]    builds the state: N guest carts (one actor and
//        one alarm each, filled with Redis and Postgres down), SIGKILLs the Worker, keeps a pristine
//        copy of its Durable Object state; prints the directory.
//   npx tsx bench/restart.ts replay <dir> [dev|start]    restarts on a fresh copy of that state once all
//        alarms are due, with a Redis that never answers; samples workerd's open files and memory every
//        500 ms; prints when /healthz and a cart read both answer, and when no alarm is due any more.
//
// Env: RESTART_ALARM_AFTER_S (fill: the carts' expiry, default 90), RESTART_WATCH_S (replay: how long
// to watch after serving, default 60), E2E_VERBOSE=1 (the Worker's output).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startLocalStack, readDevVars, type LocalStack, type StackMode } from "../dev/stack.ts";
import { Api, httpVia, sleep } from "../test/support/e2e.ts";

const secrets = (() => {
  const v = readDevVars();
  return { JWT_SECRET: v.JWT_SECRET!, ADMIN_TOKEN: v.ADMIN_TOKEN!, PAYMENT_WEBHOOK_SECRET: v.PAYMENT_WEBHOOK_SECRET! };
})();

function start(mode: StackMode, persistDir: string, extraVars: Record<string, string>): Promise<LocalStack> {
  return startLocalStack({
    mode,
    port: 0,
    databaseName: "edge_cart_restart_bench",
    quiet: !process.env.E2E_VERBOSE,
    snapshot: true,
    persistDir,
    extraVars,
  });
}

/** SIGKILLs the Worker's process group (wrangler or serve-worker, and workerd). */
function crashWorker(persistDir: string): void {
  const pids = JSON.parse(fs.readFileSync(path.join(persistDir, "pids.json"), "utf8")) as {
    children: { name: string; pid: number }[];
  };
  const worker = pids.children.find((c) => c.name === "wrangler" || c.name === "serve-worker");
  if (!worker) throw new Error("no Worker in pids.json");
  process.kill(-worker.pid, "SIGKILL");
}

/** Every alarm row workerd keeps (`_cf_ALARM` in the metadata databases under the state). */
function alarmFiles(dir: string): string[] {
  return execFileSync("find", [dir, "-name", "metadata.sqlite"], { encoding: "utf8" }).split("\n").filter(Boolean);
}

function dueAlarms(dir: string, now = Date.now()): { total: number; due: number; afterADay: number } {
  let total = 0;
  let due = 0;
  let afterADay = 0;
  for (const file of alarmFiles(dir)) {
    try {
      const out = execFileSync(
        "sqlite3",
        [
          "-readonly",
          file,
          `SELECT count(*), sum(scheduled_time <= ${now}000000), sum(scheduled_time > ${now + 86_400_000}000000) FROM _cf_ALARM`,
        ],
        { encoding: "utf8", timeout: 5_000 },
      );
      const [t, d, l] = out.trim().split("|").map(Number);
      total += t ?? 0;
      due += d ?? 0;
      afterADay += l ?? 0;
    } catch {
      // locked or not an alarm database
    }
  }
  return { total, due, afterADay };
}

function latestAlarm(dir: string): number {
  let latest = 0;
  for (const file of alarmFiles(dir)) {
    const out = execFileSync(
      "sqlite3",
      ["-readonly", file, "SELECT coalesce(max(scheduled_time), 0) / 1000000 FROM _cf_ALARM"],
      { encoding: "utf8" },
    );
    latest = Math.max(latest, Number(out.trim()));
  }
  return latest;
}

async function fill(carts: number, mode: StackMode): Promise<void> {
  const alarmAfterS = Number(process.env.RESTART_ALARM_AFTER_S ?? 90);
  const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-restart-bench-"));
  const stack = await start(mode, persistDir, {
    RESERVATION_TTL_SECONDS: "15",
    GUEST_CART_TTL_DAYS: String(alarmAfterS / 86_400),
  });
  const a = new Api(stack.baseUrl, secrets);
  const sku = `sku-restart-${randomUUID().slice(0, 8)}`;
  const put = await a.putSku(sku, {
    productId: "prod-restart",
    name: "Restart Tee",
    merchantId: "m-r",
    price: 500,
    stock: 10_000_000,
  });
  if (put.status !== 201) throw new Error(`putSku ${put.status} ${put.text}`);
  await stack.faults.stopRedis();
  await stack.faults.stopDatabaseProxy();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const guests: string[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < carts) {
        next++;
        const guestId = randomUUID();
        // A reset connection or a shed request is repeated: an add with If-Match 0 applies once.
        const add = () =>
          httpVia(agent, stack.baseUrl, "POST", "/v1/cart/items", {
            headers: { "x-cart-id": guestId, "if-match": "0" },
            body: { skuId: sku, quantity: 1 },
          }).catch(() => ({ status: 0, text: "" }));
        let res = await add();
        for (let i = 1; (res.status === 503 || res.status === 0) && i < 5; i++) {
          await sleep(100 * i);
          res = await add();
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 200) guests.push(guestId);
      }
    }),
  );
  agent.destroy();
  console.log(
    `filled ${guests.length}/${carts} carts in ${((performance.now() - t0) / 1000).toFixed(1)} s ${JSON.stringify(statuses)}`,
  );
  crashWorker(persistDir);
  await stack.stop();
  const orig = persistDir + ".orig";
  fs.cpSync(path.join(persistDir, "wrangler"), path.join(orig, "wrangler"), { recursive: true });
  fs.writeFileSync(path.join(orig, "guests.json"), JSON.stringify({ sku, guests, mode }));
  fs.rmSync(persistDir, { recursive: true, force: true });
  console.log(
    `state: ${orig} (${JSON.stringify(dueAlarms(orig))} alarms; latest due ${new Date(latestAlarm(orig)).toISOString()})`,
  );
}

/** A Redis (REST) that accepts connections and never answers. */
async function hungServer(): Promise<{ url: string; connections: () => number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Our descendants named workerd. */
function workerdPids(): number[] {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const e of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      names.set(Number(e), stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")));
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 1 && i < 20; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name === "workerd" && ours(pid)).map(([pid]) => pid);
}

function sample(pid: number): { fds: number; rssMb: number; maps: number } | null {
  try {
    const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
    const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8").split("\n").length - 1;
    return { fds, rssMb: Math.round(Number(rss ?? 0) / 1024), maps };
  } catch {
    return null;
  }
}

async function replay(orig: string, mode: StackMode): Promise<void> {
  const watchS = Number(process.env.RESTART_WATCH_S ?? 60);
  const { guests } = JSON.parse(fs.readFileSync(path.join(orig, "guests.json"), "utf8")) as { guests: string[] };
  const latest = latestAlarm(orig);
  if (latest > Date.now()) {
    console.log(`waiting ${((latest - Date.now()) / 1000).toFixed(0)} s for the last alarm to be due`);
    await sleep(latest - Date.now() + 1000);
  }
  const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-restart-replay-"));
  fs.cpSync(path.join(orig, "wrangler"), path.join(persistDir, "wrangler"), { recursive: true });
  const before = dueAlarms(persistDir);
  const hung = await hungServer();
  let peak = { fds: 0, rssMb: 0, maps: 0 };
  const samples: string[] = [];
  const t0 = performance.now();
  const at = () => ((performance.now() - t0) / 1000).toFixed(1);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const pid of workerdPids()) {
        const s = sample(pid);
        if (!s) continue;
        peak = {
          fds: Math.max(peak.fds, s.fds),
          rssMb: Math.max(peak.rssMb, s.rssMb),
          maps: Math.max(peak.maps, s.maps),
        };
        samples.push(`${at()}s pid ${pid}: ${s.fds} fds, ${s.rssMb} MB, ${s.maps} maps`);
      }
      await sleep(500);
    }
  })();
  let stack: LocalStack | null = null;
  try {
    stack = await start(mode, persistDir, {
      RESERVATION_TTL_SECONDS: "15",
      UPSTASH_REDIS_REST_URL: hung.url,
      ...JSON.parse(process.env.RESTART_VARS ?? "{}"),
    });
    const up = at();
    const a = new Api(stack.baseUrl, secrets);
    let serving: string | null = null;
    const deadline = performance.now() + 120_000;
    while (!serving && performance.now() < deadline) {
      try {
        const h = await a.request("GET", "/healthz", { signal: AbortSignal.timeout(5_000) });
        const c = await a.request("GET", "/v1/cart", {
          headers: a.guest(guests[0]!),
          signal: AbortSignal.timeout(5_000),
        });
        if (h.status === 200 && c.status === 200) serving = at();
      } catch {
        // not yet
      }
      if (!serving) await sleep(200);
    }
    console.log(
      `RESULT mode=${mode} alarms due=${before.due}/${before.total}: answered / at ${up} s, serving at ${serving ?? "never (120 s)"} s`,
    );
    // Then: how long until no alarm is due any more, and whether the carts kept their lines.
    const watchEnd = performance.now() + watchS * 1000;
    let drained: string | null = null;
    while (performance.now() < watchEnd) {
      const d = dueAlarms(persistDir);
      // Ran: the carts' alarms are re-armed 30 days out once they ran (paced ones are not due yet before).
      if (d.total - d.afterADay === 0 && !drained) drained = at();
      if (drained) break;
      await sleep(2000);
    }
    const left = dueAlarms(persistDir);
    let kept = 0;
    for (const g of [guests[0]!, guests[Math.floor(guests.length / 2)]!, guests.at(-1)!]) {
      const c = await a.get("/v1/cart", a.guest(g)).catch(() => null);
      if (c?.status === 200 && c.body.items?.length === 1) kept++;
    }
    console.log(
      `RESULT alarms: due ${left.due}/${left.total} left, ${left.afterADay} rescheduled a day or more out (ran); every alarm ran at ${drained ?? `never (${watchS} s)`} s; sample carts kept ${kept}/3; hung Redis connections ${hung.connections()}; peak workerd ${JSON.stringify(peak)}`,
    );
  } finally {
    sampling = false;
    await sampler;
    fs.writeFileSync(path.join(orig, `replay-${Date.now()}.log`), samples.join("\n") + "\n");
    await stack?.stop().catch(() => undefined);
    hung.close();
    fs.rmSync(persistDir, { recursive: true, force: true });
  }
}

const [cmd, arg, mode = "dev"] = process.argv.slice(2);
if (cmd === "fill") await fill(Number(arg ?? 5000), mode as StackMode);
else if (cmd === "replay") await replay(arg!, mode as StackMode);
else console.error("usage: bench/restart.ts fill <carts> [dev|start] | replay <dir> [dev|start]");
process.exit(0);
