/**
 * The operator's views behind /ops/ (docs/operations.md): metrics, stock and dead letters, with
 * replay and discard. Thin routes; the work is in src/ops/.
 */
import { z } from "zod";
import type { Database } from "../db/client";
import { withDatabase } from "../db/client";
import { DomainError } from "../domain/errors";
import { discardDeadLetter, listDeadLetters, replayDeadLetter, replayOpenDeadLetters } from "../ops/dead-letters";
import { flushMetrics } from "../ops/metrics";
import { metricsView, metricsWindow } from "../ops/metrics-view";
import { stockView } from "../ops/stock";
import type { App } from "./route";
import { route } from "./route";
import {
  DeadLetterParams,
  DeadLettersSchema,
  DeadLetterStatusQuery,
  MetricsQuery,
  MetricsSchema,
  ReplayBody,
  StockQuery,
  StockSchema,
} from "./validation/ops";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

/** Postgres work of an admin view: a refusal passes through, anything else is 503 DEPENDENCY_UNAVAILABLE. */
async function withAdminDatabase<T>(env: Env, what: string, work: (db: Database) => Promise<T>): Promise<T> {
  try {
    return await withDatabase(env, work);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    log.error(`${what} failed`, { error: errorText(err) });
    throw new DomainError(
      "DEPENDENCY_UNAVAILABLE",
      `Postgres is unavailable; ${what} cannot be answered now`,
      undefined,
      {
        "retry-after": "5",
      },
    );
  }
}

export function opsRoutes(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/admin/metrics",
      tag: "Operations",
      summary: "Metrics of the last minutes in 5 s buckets (the ops page's charts)",
      description:
        "Requests, p50/p99, 5xx, sheds, flash attempts and wins per SKU and cart edits per 5 s bucket; buy refusals by code; the queue lag and the outbox per actor kind. Read from the local metrics sink (Postgres); on Cloudflare the same data points are in Analytics Engine (docs/operations.md, Metrics).",
      access: "admin",
      query: MetricsQuery,
      ok: { status: 200, description: "The window's metrics", schema: MetricsSchema },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { query }) => {
      // This isolate's points not yet written are part of the answer.
      await flushMetrics(c.env);
      const window = metricsWindow(query.since, Date.now());
      return c.json(await withAdminDatabase(c.env, "the metrics", (db) => metricsView(db, window)));
    },
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/admin/stock",
      tag: "Operations",
      summary: "Stock per SKU and stripe, the last reconciliation and the promotions' budgets",
      description:
        "onHand, reserved and sold per SKU and per stripe, asked of the actors now, for the SKUs named in `skus` or one page of every SKU Postgres knows (in id order; `next` is the following page's `after`); the drift the last reconciliation left open (0 = the actor and `inventory_audit` agree) and its result; each promotion's used, reserved and remaining redemptions.",
      access: "admin",
      query: StockQuery,
      ok: { status: 200, description: "The stock table", schema: StockSchema },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { query }) =>
      c.json(await withAdminDatabase(c.env, "the stock view", (db) => stockView(c.env, db, query))),
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/admin/dead-letters",
      tag: "Operations",
      summary: "Dead letters with their reason and payload",
      description: "The newest first, at most 500. `status` filters (default `open`; `all` for every letter).",
      access: "admin",
      query: DeadLetterStatusQuery,
      ok: { status: 200, description: "Dead letters", schema: DeadLettersSchema },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { query }) =>
      c.json({
        deadLetters: await withAdminDatabase(c.env, "the dead letters", (db) => listDeadLetters(db, query.status)),
      }),
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/dead-letters/replay",
      tag: "Operations",
      summary: "Replay every open dead letter",
      description:
        "Each open letter is replayed as by its own replay; one that cannot be (its data still unstorable) stays open. Idempotent.",
      access: "admin",
      ok: { status: 200, description: "How many were replayed", schema: z.object({ replayed: z.number().int() }) },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c) => c.json(await withAdminDatabase(c.env, "the replay", (db) => replayOpenDeadLetters(c.env, db))),
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/dead-letters/{id}/replay",
      tag: "Operations",
      summary: "Replay one dead letter",
      description:
        'The event is applied to Postgres as the consumer would (a page of cart alerts goes back to its queue). Idempotent: an event that already landed is not applied again (`applied: false`, still 200). An optional body `{ "payload": … }` replaces the stored payload first (the data fixed); a payload Postgres still cannot store is 400.',
      access: "admin",
      params: DeadLetterParams,
      body: ReplayBody,
      bodyOptional: true,
      ok: {
        status: 200,
        description: "Replayed",
        schema: z.object({ id: z.string(), status: z.literal("replayed"), applied: z.boolean() }),
      },
      problems: ["NOT_FOUND", "DEAD_LETTER_RESOLVED", "DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { params, body }) =>
      c.json(
        await withAdminDatabase(c.env, "the replay", (db) => replayDeadLetter(c.env, db, params.id, body.payload)),
      ),
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/admin/dead-letters/{id}/discard",
      tag: "Operations",
      summary: "Discard one dead letter (kept for the audit trail)",
      description: "It is never replayed; its row stays, marked `discarded` with the time. Idempotent.",
      access: "admin",
      params: DeadLetterParams,
      ok: {
        status: 200,
        description: "Discarded",
        schema: z.object({ id: z.string(), status: z.literal("discarded") }),
      },
      problems: ["NOT_FOUND", "DEAD_LETTER_RESOLVED", "DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { params }) =>
      c.json(await withAdminDatabase(c.env, "the discard", (db) => discardDeadLetter(db, params.id))),
  );
}
