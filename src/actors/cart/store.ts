/**
 * The cart's state and the one way it changes: loaded once per actor start
 * (rebuilt from Postgres or Redis when storage is empty), then every change is
 * a draft committed as one new version with its cart event, in one transaction.
 */
import { readCartSnapshot } from "../../cache/cart-snapshots";
import { cartLookups } from "../../db/cart-lookups";
import type { CartLine, CartState } from "../../domain/cart";
import { CartDraft } from "../../domain/cart";
import type { CartOutcome } from "../../domain/cart-contract";
import { versionConflict } from "../../domain/cart-refusals";
import type { Refusal } from "../../domain/errors";
import type { CartChangeData, CartEventType } from "../../events/envelope";
import { envelope } from "../../events/envelope";
import type { CartHost } from "./host";
import { log } from "../../log/logger";
import { errorText } from "../../log/redact";

/** How long a rebuild waits for Postgres / Redis before starting the cart empty. */
const REBUILD_TIMEOUT_MS = 3_000;

export interface ChangeOptions {
  /** Extra fields for the cart event. */
  detail?: Record<string, unknown>;
  /** The cart's promotion code after the change (undefined: unchanged; null: removed). */
  code?: string | null;
  /** More rows written in the same transaction (also when the lines did not change). */
  alsoWrite?: () => void;
}

export class CartStore {
  private state: CartState | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly host: CartHost,
    /** Runs after each committed change (Redis snapshot, live devices). */
    private readonly onChange: () => void,
  ) {
    host.schema.ensure(`CREATE TABLE IF NOT EXISTS cart_meta (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      currency TEXT,
      updated_at TEXT
    )`);
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS lines (sku_id TEXT PRIMARY KEY, position INTEGER NOT NULL, line TEXT NOT NULL)",
    );
    host.schema.ensure("CREATE TABLE IF NOT EXISTS applied (key TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS cart_code (id INTEGER PRIMARY KEY CHECK (id = 1), code TEXT NOT NULL)",
    );
  }

  /** The cart if it is loaded (null before the first request of this actor start). */
  get current(): CartState | null {
    return this.state;
  }

  /**
   * The cart, loaded once per actor start. A cart with no storage (new, or
   * its storage was lost) is rebuilt from the newest copy Postgres or Redis
   * has (docs/invariants.md 7). Runs inside blockConcurrencyWhile so nothing reads a
   * half-built cart; errors are rethrown outside it so the gate is never left broken.
   */
  async loaded(): Promise<CartState> {
    if (this.state) return this.state;
    this.loading ??= this.host
      .blockConcurrencyWhile(async () => {
        try {
          if (!this.state) this.state = this.readStorage() ?? (await this.rebuild());
          return null;
        } catch (err) {
          return err;
        }
      })
      .then((err) => {
        this.loading = null;
        if (err) throw err;
      });
    await this.loading;
    return this.state!;
  }

  /** The cart's currency once `draft` is committed: kept while it has lines, else none. */
  currencyOf(draft: CartDraft): string | null {
    return draft.size > 0 ? (this.state!.currency ?? draft.all()[0]!.currency) : null;
  }

  /**
   * Applies `change` to a draft of the cart and commits it as one new version:
   * lines, meta, the cart event and any extra rows in one transaction. No
   * await happens between the If-Match check, the change's checks and the write.
   */
  mutate(
    type: CartEventType,
    ifMatch: number | null,
    change: (draft: CartDraft) => Refusal | void,
    options: ChangeOptions = {},
  ): CartOutcome {
    const state = this.state!;
    if (ifMatch !== null && ifMatch !== state.version) return versionConflict(state.version);
    const draft = new CartDraft(state.lines);
    const refusal = change(draft);
    if (refusal) return refusal;
    const code = options.code === undefined ? (state.code ?? null) : options.code;
    if (!draft.changed && code === (state.code ?? null)) {
      if (options.alsoWrite) this.host.transact(options.alsoWrite);
      return { ok: true, cart: state };
    }
    const version = state.version + 1;
    const updatedAt = new Date(this.host.now()).toISOString();
    const { lines, upserted, removed } = draft.commit(version);
    const next: CartState = {
      cartKey: state.cartKey,
      version,
      currency: lines.length > 0 ? (state.currency ?? lines[0]!.currency) : null,
      lines,
      updatedAt,
      code,
    };
    const data: CartChangeData = {
      cartKey: next.cartKey,
      currency: next.currency,
      updatedAt,
      upserted,
      removed,
      complete: false,
      code,
    };
    if (options.detail) data.detail = options.detail;
    this.host.transact(() => {
      this.writeMeta(next);
      if (code !== (state.code ?? null)) this.writeCode(code);
      for (const line of upserted) this.writeLine(line);
      for (const skuId of removed) this.host.sql.exec("DELETE FROM lines WHERE sku_id = ?", skuId);
      this.host.outbox.addEvent(envelope(type, next.cartKey, version, data));
      options.alsoWrite?.();
    });
    this.state = next;
    this.host.afterCommit();
    this.onChange();
    return { ok: true, cart: next };
  }

  /** Was the step with this key (a merge token, an order id) applied before? */
  wasApplied(key: string): boolean {
    return this.host.sql.exec("SELECT 1 FROM applied WHERE key = ?", key).toArray().length > 0;
  }

  /** Call inside the transaction of the step. */
  markApplied(key: string): void {
    this.host.sql.exec(
      "INSERT INTO applied (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
      key,
      this.host.now(),
    );
  }

  /** Storage rolled back: read the cart again. */
  reload(): void {
    this.state = this.readStorage() ?? this.state;
  }

  private readStorage(): CartState | null {
    const meta = this.host.sql
      .exec<{ version: number; currency: string | null; updated_at: string | null }>(
        "SELECT * FROM cart_meta WHERE id = 1",
      )
      .toArray()[0];
    if (!meta) return null;
    const lines = this.host.sql
      .exec<{ line: string }>("SELECT line FROM lines ORDER BY position")
      .toArray()
      .map((r) => JSON.parse(r.line) as CartLine);
    const code =
      this.host.sql.exec<{ code: string }>("SELECT code FROM cart_code WHERE id = 1").toArray()[0]?.code ?? null;
    return {
      cartKey: this.host.cartKey,
      version: meta.version,
      currency: meta.currency,
      updatedAt: meta.updated_at,
      lines,
      code,
    };
  }

  private async rebuild(): Promise<CartState> {
    const cartKey = this.host.cartKey;
    const env = this.host.env;
    const empty: CartState = { cartKey, version: 0, currency: null, lines: [], updatedAt: null, code: null };
    const [fromPostgres, fromRedis] = await Promise.all([
      env.DATABASE_URL
        ? cartLookups(env)
            .load(cartKey, REBUILD_TIMEOUT_MS)
            .catch((err: unknown) => {
              log.warn("cart not rebuilt: Postgres not reachable", { cartKey, error: errorText(err) });
              return null;
            })
        : null,
      readCartSnapshot(env, cartKey),
    ]);
    const best = [fromPostgres, fromRedis].reduce<CartState>((a, b) => (b && b.version > a.version ? b : a), empty);
    const restored: CartState = { ...best, cartKey, code: best.code ?? null };
    this.host.transact(() => {
      this.writeMeta(restored);
      this.writeCode(restored.code ?? null);
      for (const line of restored.lines) this.writeLine(line);
    });
    if (restored.version > 0)
      log.info("cart rebuilt", { cartKey, version: restored.version, lines: restored.lines.length });
    return restored;
  }

  private writeMeta(s: CartState): void {
    this.host.sql.exec(
      "INSERT INTO cart_meta (id, version, currency, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version, currency = excluded.currency, updated_at = excluded.updated_at",
      s.version,
      s.currency,
      s.updatedAt,
    );
  }

  private writeCode(code: string | null): void {
    if (code === null) this.host.sql.exec("DELETE FROM cart_code WHERE id = 1");
    else
      this.host.sql.exec(
        "INSERT INTO cart_code (id, code) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET code = excluded.code",
        code,
      );
  }

  private writeLine(line: CartLine): void {
    this.host.sql.exec(
      "INSERT INTO lines (sku_id, position, line) VALUES (?, ?, ?) ON CONFLICT (sku_id) DO UPDATE SET position = excluded.position, line = excluded.line",
      line.skuId,
      line.position,
      JSON.stringify(line),
    );
  }
}
