/**
 * Merge on login: a guest cart hands its lines to the user cart. The guest
 * detaches them (and is emptied) in one step, the user cart applies them once
 * under the detached lines' token, then the guest drops its copy; on a refusal
 * the guest takes its lines back. A crash at any point leaves the lines in
 * exactly one place.
 */
import type { CartLine } from "../../domain/cart";
import type { MergeDecision, MergeStrategy } from "../../domain/cart-merge";
import { planMerge } from "../../domain/cart-merge";
import type { DetachedLines, MergeOutcome } from "../../domain/cart-contract";
import { versionConflict } from "../../domain/cart-refusals";
import type { SkuQuote } from "../../domain/catalog";
import type { CartStore } from "./store";
import type { CartHost } from "./host";
import type { CartPromotions } from "./promotions";
import type { CartSkus } from "./skus";
import { promotionCatalog } from "../../cache/promotions";
import { log } from "../../log/logger";
import { errorText } from "../../log/redact";

export class CartMerge {
  private mergeQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
    private readonly skus: CartSkus,
    private readonly promotions: CartPromotions,
  ) {
    // The table keeps its first name, `handoffs`, so detached lines stored before the rename still read.
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS handoffs (token TEXT PRIMARY KEY, into_cart TEXT NOT NULL, lines TEXT NOT NULL, created_at INTEGER NOT NULL)",
    );
  }

  /**
   * Folds a guest cart into this (user) cart. Repeating the call, or two
   * logins at once, never adds twice: merges into one cart run one at a time.
   */
  merge(guestCartKey: string, strategy: MergeStrategy, ifMatch: number | null): Promise<MergeOutcome> {
    const run = this.mergeQueue.then(() => this.runMerge(guestCartKey, strategy, ifMatch));
    this.mergeQueue = run.catch(() => undefined);
    return run;
  }

  private async runMerge(guestCartKey: string, strategy: MergeStrategy, ifMatch: number | null): Promise<MergeOutcome> {
    const state = await this.store.loaded();
    if (ifMatch !== null && ifMatch !== state.version) return versionConflict(state.version);
    const guest = this.host.env.CARTS.getByName(guestCartKey);
    const detached = await guest.detachForMerge(this.host.cartKey);
    if (!detached) return { ok: true, cart: state, merge: null, view: await this.skus.render(state) };
    if (this.store.wasApplied(`merge:${detached.token}`)) {
      await guest.settleDetached(detached.token, "merged");
      return { ok: true, cart: this.store.current!, merge: null, view: await this.skus.render(this.store.current!) };
    }
    // Merge limits are checked against the SKUs as they are now, not a cached view.
    const quotes = new Map<string, SkuQuote | null>();
    await Promise.all(detached.lines.map(async (l) => quotes.set(l.skuId, await this.skus.quote(l.skuId, Infinity))));
    const promotion = await this.carriedCode(detached.code, state.code ?? null);

    let decisions: MergeDecision[] = [];
    const outcome = this.store.mutate(
      "cart.merged",
      ifMatch,
      (draft) => {
        decisions = planMerge(
          strategy,
          draft.all(),
          detached.lines,
          quotes,
          this.store.currencyOf(draft),
          this.host.now(),
        );
        const guestLines = new Map(detached.lines.map((l) => [l.skuId, l]));
        for (const d of decisions) {
          const mine = draft.get(d.skuId);
          const theirs = guestLines.get(d.skuId)!;
          if (mine) draft.put({ ...mine, quantity: d.quantity });
          else if (d.quantity > 0)
            draft.put({ ...theirs, quantity: d.quantity, position: undefined, version: undefined });
        }
      },
      {
        detail: { from: guestCartKey, strategy, token: detached.token },
        alsoWrite: () => this.store.markApplied(`merge:${detached.token}`),
        code: promotion?.carried ? promotion.code : undefined,
      },
    );
    // On a refusal (If-Match went stale meanwhile) the guest gets its lines back.
    await guest.settleDetached(detached.token, outcome.ok ? "merged" : "returned").catch((err: unknown) => {
      log.warn("merge: guest cart not settled yet, the next merge will", {
        guest: guestCartKey,
        error: errorText(err),
      });
    });
    if (!outcome.ok) return outcome;
    const clamped = decisions.filter((d) => d.clamp).map((d) => ({ skuId: d.skuId, ...d.clamp! }));
    const merge = {
      strategy,
      from: guestCartKey,
      merged: decisions.filter((d) => d.quantity > 0).length,
      clamped,
      ...(promotion ? { promotion } : {}),
    };
    return { ok: true, cart: outcome.cart, merge, view: await this.skus.render(outcome.cart) };
  }

  /**
   * The guest's code, carried over when the user cart has none and the user may use it (its
   * budget for this user; its conditions show in the cart view like any code's).
   */
  private async carriedCode(
    code: string | null,
    mine: string | null,
  ): Promise<{ code: string; carried: boolean; reason: string | null } | null> {
    if (code === null) return null;
    if (mine !== null) return { code, carried: false, reason: `the cart keeps its own code ${mine}` };
    const promotion = await promotionCatalog(this.host.env).byCode(code);
    if (!promotion) return { code, carried: false, reason: "no promotion has this code any more" };
    const unmet = await this.promotions.budget(promotion);
    return { code, carried: unmet === null, reason: unmet?.detail ?? null };
  }

  /** Guest side of a merge: detach every line for `intoCartKey` (or return the pending one). */
  async detachForMerge(intoCartKey: string): Promise<DetachedLines | null> {
    const state = await this.store.loaded();
    const sql = this.host.sql;
    const pending = sql
      .exec<{ token: string; lines: string }>("SELECT token, lines FROM handoffs WHERE into_cart = ?", intoCartKey)
      .toArray()[0];
    if (pending) return { token: pending.token, ...readDetached(pending.lines) };
    if (state.lines.length === 0) return null;
    const token = crypto.randomUUID();
    const lines = state.lines;
    const code = state.code ?? null;
    this.store.mutate("cart.merged", null, (draft) => lines.forEach((l) => draft.remove(l.skuId)), {
      detail: { into: intoCartKey, token },
      code: null,
      alsoWrite: () =>
        sql.exec(
          "INSERT INTO handoffs (token, into_cart, lines, created_at) VALUES (?, ?, ?, ?)",
          token,
          intoCartKey,
          JSON.stringify({ lines, code }),
          this.host.now(),
        ),
    });
    return { token, lines, code };
  }

  /** Guest side: the user cart took the lines ("merged"), or did not and gives them back ("returned"). */
  async settleDetached(token: string, outcome: "merged" | "returned"): Promise<void> {
    await this.store.loaded();
    const sql = this.host.sql;
    const row = sql.exec<{ lines: string }>("SELECT lines FROM handoffs WHERE token = ?", token).toArray()[0];
    if (!row) return;
    const dropDetached = () => sql.exec("DELETE FROM handoffs WHERE token = ?", token);
    if (outcome === "merged") {
      this.host.transact(dropDetached);
      return;
    }
    const { lines, code } = readDetached(row.lines);
    const current = this.store.current!;
    this.store.mutate(
      "cart.merged",
      null,
      (draft) => {
        for (const line of lines) {
          const now = draft.get(line.skuId);
          draft.put(
            now
              ? { ...now, quantity: Math.max(now.quantity, line.quantity) }
              : { ...line, position: undefined, version: undefined },
          );
        }
      },
      {
        detail: { returned: token },
        alsoWrite: dropDetached,
        code: (current.code ?? null) === null ? code : undefined,
      },
    );
  }
}

/** Stored detached lines: `{ lines, code }`, or the bare lines, as stored before codes existed. */
function readDetached(stored: string): { lines: CartLine[]; code: string | null } {
  const parsed = JSON.parse(stored) as CartLine[] | { lines: CartLine[]; code: string | null };
  return Array.isArray(parsed) ? { lines: parsed, code: null } : parsed;
}
