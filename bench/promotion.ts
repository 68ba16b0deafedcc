// The promotion suite (issue 20): what a limited code costs a checkout. On each edge-cart
// target, in one run, the same burst of attempts twice per path, once against one limited code
// and once on the same path without a promotion:
//   checkout  every buyer's cart holds one line (and, with the code, the code applied), prepared
//             before the clock starts; the measured phase is `POST /v1/checkout` alone.
//   flash     `POST /v1/flash/{skuId}/orders`, with `code` or without.
// With the code the SKU has stock for everyone and the promotion a limit of BENCH_PROMO_LIMIT
// (refusals: PROMOTION_EXHAUSTED); without it the SKU has BENCH_PROMO_LIMIT units (refusals:
// OUT_OF_STOCK / SOLD_OUT), so both phases place the same number of orders. Checks: exactly that
// many 201s per phase, and the promotion's ledger holds exactly that many reserved redemptions.
// Run by bench/run.ts (BENCH_SUITES=promotion).
import { ADMIN_TOKEN, check, concurrency, int, jsonOf, runId, tokenFor, type Check } from "./config.ts";
import { percentile, runLoad, type BenchRequest, type BenchResponse } from "./lib/load.ts";
import { progress } from "./lib/progress.ts";
import { type Running, type Target, withTarget } from "./targets/target.ts";

export interface PromotionScenario {
  attempts: number;
  limit: number;
  concurrency: number;
}

export const promotionScenario: PromotionScenario = {
  attempts: Math.max(1, int("BENCH_PROMO_ATTEMPTS", 2_000)),
  limit: Math.max(1, int("BENCH_PROMO_LIMIT", 500)),
  concurrency,
};
const P = promotionScenario;

export type PromotionPath = "checkout" | "flash";

export interface PromotionPhase {
  path: PromotionPath;
  promotion: boolean;
  attempts: number;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p99: number };
  created: number;
  refusals: Record<string, number>;
  /** Requests sent again after a drop or a 503 OVERLOADED (their latency includes the retries). */
  retries: number;
}

export interface PromotionResult {
  target: string;
  description: string;
  phases: PromotionPhase[];
  verified: boolean;
  checks: Check[];
}

interface Answer {
  status: number;
  code: string | null;
}

/**
 * Sent again with the same Idempotency-Key, as a client would: a connection dropped in transit,
 * or 503 OVERLOADED (the admission control refused it before doing anything).
 */
const retryable = (r: BenchResponse) => r.status === 0 || r.status === 503;
const MAX_RETRIES = 50;

const classify = (res: BenchResponse): Answer => ({
  status: res.status,
  code: jsonOf<{ code?: string }>(res.contentType, res.text)?.code ?? null,
});

async function adminPut(baseUrl: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(baseUrl + path, {
    method: "PUT",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

async function promotionCounters(baseUrl: string, promotionId: string): Promise<{ used: number; reserved: number }> {
  const res = await fetch(`${baseUrl}/v1/admin/promotions/${promotionId}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.status !== 200) throw new Error(`GET promotion ${promotionId}: ${res.status}`);
  return (await res.json()) as { used: number; reserved: number };
}

async function userHeaders(userId: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(userId)}`, "content-type": "application/json" };
}

/** Untimed: one line in each buyer's cart, and the code applied when there is one. */
async function prepareCarts(t: Running, users: string[], skuId: string, code: string | null): Promise<void> {
  const lanes: BenchRequest[][] = Array.from({ length: Math.min(P.concurrency, users.length) }, () => []);
  for (const [i, userId] of users.entries()) {
    const headers = await userHeaders(userId);
    const lane = lanes[i % lanes.length]!;
    lane.push({ path: "/v1/cart/items", headers, body: JSON.stringify({ skuId, quantity: 1 }) });
    if (code) lane.push({ path: "/v1/cart/promotions", headers, body: JSON.stringify({ code }) });
  }
  const p = progress(`prepare ${users.length} carts${code ? " with the code" : ""}`);
  const prep = await runLoad({
    baseUrl: t.baseUrl,
    lanes,
    concurrency: lanes.length,
    classify,
    retryable,
    maxRetries: MAX_RETRIES,
    onProgress: p.onProgress,
  });
  p.end();
  const bad = prep.samples.filter((s) => s.outcome.status !== 200);
  if (bad.length) throw new Error(`${bad.length} cart preparations failed (first: ${JSON.stringify(bad[0]!.outcome)})`);
}

async function phase(
  t: Running,
  path: PromotionPath,
  promotion: { id: string; code: string } | null,
  skuId: string,
): Promise<PromotionPhase> {
  const label = `${path}-${promotion ? "code" : "plain"}`;
  const users = Array.from({ length: P.attempts }, (_, i) => `promo-${runId}-${label}-${i}`);
  if (path === "checkout") await prepareCarts(t, users, skuId, promotion?.code ?? null);
  const requests: BenchRequest[] = [];
  for (const userId of users) {
    const headers = { ...(await userHeaders(userId)), "idempotency-key": `${runId}-${label}-${userId}` };
    requests.push(
      path === "checkout"
        ? { path: "/v1/checkout", headers, body: "{}" }
        : {
            path: `/v1/flash/${skuId}/orders`,
            headers,
            body: JSON.stringify(promotion ? { quantity: 1, code: promotion.code } : { quantity: 1 }),
          },
    );
  }
  const p = progress(label);
  const load = await runLoad({
    baseUrl: t.baseUrl,
    requests,
    concurrency: P.concurrency,
    classify,
    retryable,
    maxRetries: MAX_RETRIES,
    onProgress: p.onProgress,
  });
  p.end();
  const refusals: Record<string, number> = {};
  let created = 0;
  for (const { outcome } of load.samples) {
    if (outcome.status === 201) created++;
    else {
      const key = `${outcome.status} ${outcome.code ?? ""}`.trim();
      refusals[key] = (refusals[key] ?? 0) + 1;
    }
  }
  const sorted = Float64Array.from(load.samples.map((s) => s.latencyMs)).sort();
  const r1 = (n: number) => Math.round(n * 10) / 10;
  const result: PromotionPhase = {
    path,
    promotion: promotion !== null,
    attempts: requests.length,
    seconds: r1(load.seconds),
    rps: Math.round(requests.length / load.seconds),
    latencyMs: { p50: r1(percentile(sorted, 50)), p99: r1(percentile(sorted, 99)) },
    created,
    refusals,
    retries: load.samples.reduce((n, x) => n + x.retries, 0),
  };
  console.log(
    `  ${label}: ${result.attempts} attempts in ${result.seconds} s: ${result.rps}/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms; 201 ${created}, ${JSON.stringify(refusals)}, ${result.retries} resent`,
  );
  return result;
}

export function runPromotion(target: Target): Promise<PromotionResult> {
  return withTarget(target, async (t) => {
    const phases: PromotionPhase[] = [];
    const checks: Check[] = [];
    for (const path of ["checkout", "flash"] as const) {
      // Without a promotion: the stock is the limit.
      const plainSku = `bench-promo-${runId}-${path}-plain`;
      await t.seed({ skuId: plainSku, units: P.limit, limit: null });
      const plain = await phase(t, path, null, plainSku);
      // With one limited code: stock for everyone, the code's limit bites.
      const sku = `bench-promo-${runId}-${path}-code`;
      await t.seed({ skuId: sku, units: 1_000_000, limit: null });
      const promotion = { id: `bench-${runId}-${path}`, code: `BENCH${runId}${path}`.toUpperCase() };
      await adminPut(t.baseUrl, `/v1/admin/promotions/${promotion.id}`, {
        code: promotion.code,
        kind: "percent",
        value: 10,
        limit: P.limit,
        limitPerCustomer: 1,
        stripes: 8,
        active: true,
      });
      const coded = await phase(t, path, promotion, sku);
      const counters = await promotionCounters(t.baseUrl, promotion.id);
      const placed = Math.min(P.limit, P.attempts);
      checks.push(
        check(`${path} without a promotion: 201s == stock`, plain.created === placed, `${plain.created} of ${placed}`),
        check(`${path} with the code: 201s == limit`, coded.created === placed, `${coded.created} of ${placed}`),
        check(
          `${path}: the ledger holds exactly the limit`,
          counters.used === 0 && counters.reserved === coded.created,
          `used ${counters.used}, reserved ${counters.reserved}`,
        ),
      );
      phases.push(plain, coded);
      console.log(
        `  ${path}: with the code ${coded.rps}/s vs ${plain.rps}/s without (${Math.round((100 * coded.rps) / plain.rps)}%)`,
      );
    }
    for (const c of checks) console.log(`  ${c.ok ? "ok" : "FAILED"}: ${c.name} (${c.detail})`);
    return {
      target: target.name,
      description: target.description,
      phases,
      verified: checks.every((c) => c.ok),
      checks,
    };
  });
}
