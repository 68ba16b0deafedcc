// The last step of `npm run deploy`: the deployed Worker's own /healthz, which checks Postgres
// and Redis with the secrets it was just given.

/** The URL `wrangler deploy` printed for the Worker (its workers.dev address first), if any. */
export function deployedUrl(output: string): string | undefined {
  const urls = [...output.matchAll(/^\s*(https:\/\/\S+?)\/?\s*$/gm)].map((m) => m[1]!);
  return urls.find((u) => u.endsWith(".workers.dev")) ?? urls[0];
}

/** A check that means the deploy is broken, not merely running without an optional service. */
function broken(value: string): boolean {
  return value === "unavailable" || value === "not configured" || value.startsWith("misconfigured");
}

export interface HealthOptions {
  fetch: typeof fetch;
  pause: (ms: number) => Promise<void>;
  /** Tries before giving up: a new workers.dev address can take a minute to answer. */
  attempts?: number;
  delayMs?: number;
}

export interface HealthResult {
  /** Checks that are neither ok nor broken (e.g. Redis disabled), as "name: value". */
  warnings: string[];
  /** Set when the Worker answered with a broken check, or never answered. */
  failure?: string;
  /** The last answer, as "name: value" pairs. */
  checks: string[];
}

/** GET {base}/healthz until every check is ok (or only warnings remain), or the tries run out. */
export async function checkHealth(base: string, opts: HealthOptions): Promise<HealthResult> {
  const url = `${base.replace(/\/$/, "")}/healthz`;
  const attempts = opts.attempts ?? 10;
  let result: HealthResult = { warnings: [], checks: [], failure: `no answer from ${url}` };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await opts.pause(opts.delayMs ?? 6_000);
    try {
      const res = await opts.fetch(url, { headers: { accept: "application/json" } });
      if (!res.ok) {
        result = { warnings: [], checks: [], failure: `${url} answered ${res.status}` };
        continue;
      }
      const body = (await res.json()) as { checks?: Record<string, unknown> };
      const checks = Object.entries(body.checks ?? {}).map(([k, v]) => [k, String(v)] as const);
      const bad = checks.filter(([, v]) => broken(v));
      result = {
        checks: checks.map(([k, v]) => `${k}: ${v}`),
        warnings: checks.filter(([, v]) => v !== "ok" && !broken(v)).map(([k, v]) => `${k}: ${v}`),
        failure: bad.length ? `${url}: ${bad.map(([k, v]) => `${k} ${v}`).join(", ")}` : undefined,
      };
      if (!result.failure) return result;
    } catch (err) {
      result = { warnings: [], checks: [], failure: `${url}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return result;
}
