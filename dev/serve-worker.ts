// `npm start`'s Worker: built once (`wrangler deploy --dry-run --outdir`, the bundle a deploy
// would upload) and served by workerd through Miniflare's API, with no wrangler dev proxy,
// no live reload and no request logging. Bindings come from the wrangler config (Durable
// Object classes, queue producers and consumers with their batch/retry/DLQ settings, rate
// limits, vars) plus .dev.vars and the stack's own vars; Durable Object state persists where
// `wrangler dev --persist-to` puts it; the cron triggers fire on their schedule.
//
// Run by dev/stack.ts (mode "start") in its own process group, so killing the group stops
// workerd too:   tsx dev/serve-worker.ts '<json ServeWorkerOptions>'
// Prints `READY {"url":..., "crons":[...]}` when the Worker answers.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { scheduleCrons } from "./cron.ts";
import { ROOT, WRANGLER_ENV, isMain } from "./util.ts";

export interface ServeWorkerOptions {
  /** Wrangler config (absolute, or relative to the project root). */
  config: string;
  host?: string;
  port: number;
  /** Where the bundle is written (emptied first). */
  buildDir: string;
  /** `wrangler dev --persist-to` equivalent (state under `<dir>/v3`); null = in memory. */
  persistTo: string | null;
  /** Secrets and local settings, on top of the config's [vars]. */
  vars: Record<string, string>;
  /** Fire the config's cron triggers on schedule (default true). */
  crons?: boolean;
  /** Open the V8 inspector on this port (CPU profiles: bench/profile-flash.ts). */
  inspectorPort?: number;
}

/** Bundles the Worker like a deploy would; returns the entry module's path. */
export function buildWorker(config: string, outDir: string): string {
  fs.rmSync(outDir, { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"),
        "deploy",
        "--dry-run",
        "--outdir",
        outDir,
        "--config",
        config,
      ],
      {
        cwd: path.dirname(config),
        env: { ...process.env, ...WRANGLER_ENV, FORCE_COLOR: "0", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the Worker failed:\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`);
  }
  const entry = path.join(outDir, "index.js");
  if (!fs.existsSync(entry)) throw new Error(`the build wrote no ${entry}`);
  return entry;
}

/**
 * The cron triggers' dispatcher: a second Worker on its own loopback socket (never on the
 * public port) that calls the served Worker's `scheduled()` through a service binding. Going
 * through HTTP rather than `mf.getWorker()` keeps Miniflare's proxy client, whose synchronous
 * fetch crashes the host on a reset connection under load, out of the picture.
 */
const CRON_WORKER = "cron-trigger";
const CRON_SCRIPT = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const result = await env.TARGET.scheduled({ cron: url.searchParams.get("cron") ?? "", scheduledTime: new Date(Number(url.searchParams.get("time"))) });
    return Response.json({ outcome: result.outcome });
  },
};`;

/**
 * The static assets (the API reference at /docs/, the storefront) are served by a Worker of
 * their own in front, and the API's paths are routed straight to the API Worker. Attached to
 * the API Worker, Miniflare puts its asset router in front of every request, API calls
 * included: two more hops inside workerd that cut a trivial route's throughput here from
 * ~1,800 to ~1,100 req/s. On Cloudflare that routing happens before the Worker at no cost to
 * it, so this keeps the API's local figures honest. A path that is not an asset and not an
 * API route (`/`, an unknown path) reaches the API through a service binding.
 */
const ASSETS_WORKER = "static-assets";
const API_ROUTES = ["*/v1/*", "*/healthz*", "*/openapi.json*"];
type AssetsOptions = NonNullable<ReturnType<typeof unstable_getMiniflareWorkerOptions>["workerOptions"]["assets"]>;

function assetsWorker(assets: AssetsOptions, api: string, compatibilityDate: string | undefined) {
  return {
    name: ASSETS_WORKER,
    modules: true,
    script: "export default { fetch(request, env) { return env.API.fetch(request); } };",
    compatibilityDate,
    assets,
    serviceBindings: { API: api },
  };
}

export interface ServedWorker {
  url: string;
  mf: Miniflare;
  crons: string[];
  /** Runs the Worker's `scheduled()` as a trigger would; its outcome ("ok", "exception", ...). */
  trigger(cron: string, scheduledTime: Date): Promise<string>;
  stop(): Promise<void>;
}

export async function serveWorker(opts: ServeWorkerOptions): Promise<ServedWorker> {
  const config = path.resolve(ROOT, opts.config);
  const entry = buildWorker(config, path.resolve(ROOT, opts.buildDir));
  const parsed = unstable_readConfig({ config });
  const { workerOptions: allOptions } = unstable_getMiniflareWorkerOptions(config);
  const { assets, ...workerOptions } = allOptions;
  const mf = new Miniflare({
    host: opts.host ?? "127.0.0.1",
    port: opts.port,
    cf: false, // no request to workers.cloudflare.com for Request.cf
    log: new Log(LogLevel.WARN),
    logRequests: false,
    inspectorPort: opts.inspectorPort,
    defaultPersistRoot: opts.persistTo ? path.join(path.resolve(ROOT, opts.persistTo), "v3") : undefined,
    workers: [
      // The first Worker takes every request no route claims.
      ...(assets ? [assetsWorker(assets, parsed.name, workerOptions.compatibilityDate)] : []),
      {
        ...workerOptions,
        ...(assets ? { routes: API_ROUTES } : {}),
        // The same name as under wrangler dev, so both find the same Durable Object state.
        name: parsed.name,
        modules: true,
        scriptPath: entry,
        modulesRoot: path.dirname(entry),
        bindings: { ...workerOptions.bindings, ...opts.vars },
      },
      {
        name: CRON_WORKER,
        modules: true,
        script: CRON_SCRIPT,
        compatibilityDate: workerOptions.compatibilityDate,
        // Without it a service binding's scheduled() gives no result.
        compatibilityFlags: ["service_binding_extra_handlers"],
        serviceBindings: { TARGET: parsed.name },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      },
    ],
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const crons = parsed.triggers?.crons ?? [];
  const triggerUrl = await mf.unsafeGetDirectURL(CRON_WORKER);
  const trigger = async (cron: string, scheduledTime: Date): Promise<string> => {
    const res = await fetch(new URL(`/?cron=${encodeURIComponent(cron)}&time=${scheduledTime.getTime()}`, triggerUrl));
    return ((await res.json()) as { outcome: string }).outcome;
  };
  let stopCrons = () => {};
  if (opts.crons !== false && crons.length) {
    stopCrons = scheduleCrons(crons, (cron, scheduledTime) => {
      const t0 = performance.now();
      // One line per firing, like the Past Events of a deployed Worker's triggers.
      trigger(cron, scheduledTime).then(
        (outcome) =>
          console.log(
            `[cron] ${cron} at ${scheduledTime.toISOString()}: ${outcome} (${Math.round(performance.now() - t0)} ms)`,
          ),
        (err: Error) => console.error(`[cron] ${cron} at ${scheduledTime.toISOString()}: ${err.message}`),
      );
    });
  }
  return {
    url,
    mf,
    crons,
    trigger,
    async stop() {
      stopCrons();
      await mf.dispose();
    },
  };
}

if (isMain(import.meta.url)) {
  const opts = JSON.parse(process.argv[2] ?? "{}") as ServeWorkerOptions;
  const served = await serveWorker(opts).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
  process.stdout.write(`READY ${JSON.stringify({ url: served.url, crons: served.crons })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    served.stop().finally(() => process.exit(0));
  };
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(sig, stop);
}
