/**
 * The promotion catalog: every promotion's definition and the index of codes
 * (one actor, named "catalog": admin writes are rare, and carts read its
 * published set of active promotions through caches, never per request).
 * A limited promotion's budget (its redemptions) lives in a stock ledger of
 * its own (`promotions/budget.ts`, docs/decisions.md 16); the catalog sets
 * that ledger's limit whenever the promotion's limits change.
 */
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { ActivePromotions, Promotion } from "../../domain/promotions";
import { normalizeCode } from "../../domain/promotions";
import { envelope } from "../../events/envelope";
import { Actor } from "../actor";
import type { BudgetCounters } from "./budget";
import { budgetCounters, configureBudget } from "./budget";

/** What an admin writes: the definition without its id, version and time. */
export type PromotionInput = Omit<Promotion, "promotionId" | "version" | "updatedAt">;

/** A promotion as the admin API shows it: the definition and its budget's counters. */
export type PromotionView = Promotion & BudgetCounters;

/** The active promotions, as carts and checkouts read them (versioned: a cache keeps the newest). */
interface Row extends Record<string, SqlStorageValue> {
  promotion_id: string;
  body: string;
}

export class PromotionCatalog extends Actor {
  protected readonly logKind = "promotions";
  /** Admin writes run one at a time: each awaits its budget ledger between reading and writing. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.schema.ensure(`CREATE TABLE IF NOT EXISTS promotions (
      promotion_id TEXT PRIMARY KEY,
      code TEXT UNIQUE,
      active INTEGER NOT NULL,
      body TEXT NOT NULL              -- the Promotion JSON
    )`);
    this.schema.ensure("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  }

  /**
   * Creates or updates a promotion. A code already used by another promotion
   * is refused; the budget ledger takes the new limits first (a limit below
   * what is already used and reserved is refused), then the definition is
   * written with its `promotion.updated` event.
   */
  upsert(promotionId: string, input: PromotionInput): Promise<Outcome<{ promotion: PromotionView; created: boolean }>> {
    const run = this.writes.then(() => this.write(promotionId, input));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async write(
    promotionId: string,
    input: PromotionInput,
  ): Promise<Outcome<{ promotion: PromotionView; created: boolean }>> {
    const code = input.code === null ? null : normalizeCode(input.code);
    const owner = code === null ? null : this.idOfCode(code);
    if (owner !== null && owner !== promotionId)
      return refuse("PROMOTION_CODE_TAKEN", `the code ${code} belongs to promotion ${owner}`);
    const prev = this.read(promotionId);
    const budget = await configureBudget(this.env, promotionId, prev, { ...input, code });
    if (!budget.ok) return budget;
    const promotion: Promotion = {
      ...input,
      promotionId,
      code,
      version: (prev?.version ?? 0) + 1,
      updatedAt: new Date(this.now()).toISOString(),
    };
    this.transact(() => {
      this.sql.exec(
        `INSERT INTO promotions (promotion_id, code, active, body) VALUES (?, ?, ?, ?)
         ON CONFLICT (promotion_id) DO UPDATE SET code = excluded.code, active = excluded.active, body = excluded.body`,
        promotionId,
        code,
        promotion.active ? 1 : 0,
        JSON.stringify(promotion),
      );
      this.sql.exec(
        "INSERT INTO meta (key, value) VALUES ('version', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1",
      );
      this.outbox.addEvent(envelope("promotion.updated", promotionId, promotion.version, promotion));
    });
    this.afterCommit();
    return { ok: true, promotion: { ...promotion, ...budget.counters }, created: prev === null };
  }

  async get(promotionId: string): Promise<PromotionView | null> {
    const promotion = this.read(promotionId);
    return promotion ? { ...promotion, ...(await budgetCounters(this.env, promotion)) } : null;
  }

  /** A page of promotions by id, after `after`, with their counters. */
  async list(after: string | null, limit: number): Promise<{ items: PromotionView[]; next: string | null }> {
    const rows = this.host.sql
      .exec<Row>(
        "SELECT promotion_id, body FROM promotions WHERE promotion_id > ? ORDER BY promotion_id LIMIT ?",
        after ?? "",
        limit + 1,
      )
      .toArray();
    const page = rows.slice(0, limit).map((r) => JSON.parse(r.body) as Promotion);
    const items = await Promise.all(page.map(async (p) => ({ ...p, ...(await budgetCounters(this.env, p)) })));
    return { items, next: rows.length > limit ? page[page.length - 1]!.promotionId : null };
  }

  /** The promotion holding `code` (active or not: a deactivated code is expired, not unknown). */
  byCode(code: string): Promotion | null {
    const id = this.idOfCode(normalizeCode(code));
    return id === null ? null : this.read(id);
  }

  /** Every active promotion (dates are judged where they are used), with the catalog's version. */
  active(): ActivePromotions {
    const version =
      this.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'version'").toArray()[0]?.value ?? 0;
    const promotions = this.host.sql
      .exec<Row>("SELECT promotion_id, body FROM promotions WHERE active = 1 ORDER BY promotion_id")
      .toArray()
      .map((r) => JSON.parse(r.body) as Promotion);
    return { version, promotions };
  }

  private read(promotionId: string): Promotion | null {
    const row = this.host.sql
      .exec<Row>("SELECT promotion_id, body FROM promotions WHERE promotion_id = ?", promotionId)
      .toArray()[0];
    return row ? (JSON.parse(row.body) as Promotion) : null;
  }

  private idOfCode(code: string): string | null {
    return (
      this.sql.exec<{ promotion_id: string }>("SELECT promotion_id FROM promotions WHERE code = ?", code).toArray()[0]
        ?.promotion_id ?? null
    );
  }

  protected nextDutyAt(): number | null {
    return null;
  }

  protected async runDuties(): Promise<void> {}
}
