/**
 * The cart's side of checkout: which lines a checkout takes (and holds, so
 * that two checkouts of one cart under different Idempotency-Keys never make
 * two orders of one line), taking them out once the order exists, and the
 * owner's order index (its own orders listed newest first).
 */
import type { CartLine } from "../../domain/cart";
import type { TakenLine } from "../../domain/cart-contract";
import { checkoutInProgress, notInCartForCheckout } from "../../domain/cart-refusals";
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { CartStore } from "./store";
import type { CartHost } from "./host";

export class CartOrders {
  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
  ) {
    host.schema.ensure("CREATE TABLE IF NOT EXISTS orders_index (order_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)");
    // A line held by the checkout (order) taking it, until its order takes the line out or it gives up.
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS checkout_claims (sku_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, attempt TEXT NOT NULL, claimed_at INTEGER NOT NULL)",
    );
  }

  /**
   * The lines checkout `orderId` takes (the named ones, or the selected ones),
   * held for its `attempt`. A line another checkout holds refuses with
   * CHECKOUT_IN_PROGRESS while that checkout runs or its order exists; a hold
   * whose checkout is gone (it crashed before recording its attempt) is dropped.
   */
  async linesForCheckout(
    ownerId: string,
    skuIds: string[] | null,
    orderId: string,
    attempt: string,
  ): Promise<Outcome<{ lines: CartLine[]; code: string | null }>> {
    for (let round = 0; ; round++) {
      const state = await this.store.loaded();
      if (ownerId !== this.host.cartKey) return refuse("FORBIDDEN", "not this buyer's cart");
      if (skuIds) {
        const missing = skuIds.filter((id) => !state.lines.some((l) => l.skuId === id));
        if (missing.length > 0) return notInCartForCheckout(missing);
      }
      const lines = skuIds
        ? state.lines.filter((l) => skuIds.includes(l.skuId))
        : state.lines.filter((l) => l.selected);
      if (lines.length === 0)
        return refuse("CHECKOUT_EMPTY", "nothing to check out: select lines or name them in skuIds");
      const held = this.heldByOthers(lines, orderId);
      if (held.size === 0) {
        // No await between the check above and this write: the hold is ours alone.
        this.host.transact(() => this.hold(lines, orderId, attempt));
        return { ok: true, lines, code: state.code ?? null };
      }
      const others = [...held.keys()];
      const states = await Promise.all(
        others.map((other) =>
          this.host.env.ORDERS.getByName(other)
            .checkoutState()
            .catch(() => "running" as const),
        ),
      );
      const live = others.find((_, i) => states[i] !== "gone");
      if (live !== undefined || round >= 2) {
        const by = live ?? others[0]!;
        return checkoutInProgress(by, held.get(by)!);
      }
      this.host.transact(() => {
        for (const other of others) this.releaseRows(other, null);
      });
      // The awaits let other calls in: look at the cart again.
    }
  }

  /**
   * A checkout attempt gave up (refused, or abandoned after a crash): the lines it held are free
   * again. Idempotent; a later attempt of the same order (a retry with the same key) keeps its own.
   */
  releaseCheckout(orderId: string, attempt: string): void {
    this.host.transact(() => this.releaseRows(orderId, attempt));
  }

  /** Lines of `lines` held by other checkouts, by the order holding them. */
  private heldByOthers(lines: CartLine[], orderId: string): Map<string, string[]> {
    const held = new Map<string, string[]>();
    const rows = this.host.sql
      .exec<{ sku_id: string; order_id: string }>(
        "SELECT sku_id, order_id FROM checkout_claims WHERE order_id <> ? AND sku_id IN (SELECT value FROM json_each(?))",
        orderId,
        JSON.stringify(lines.map((l) => l.skuId)),
      )
      .toArray();
    for (const row of rows) held.set(row.order_id, [...(held.get(row.order_id) ?? []), row.sku_id]);
    return held;
  }

  private hold(lines: CartLine[], orderId: string, attempt: string): void {
    for (const line of lines)
      this.host.sql.exec(
        `INSERT INTO checkout_claims (sku_id, order_id, attempt, claimed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (sku_id) DO UPDATE SET order_id = excluded.order_id, attempt = excluded.attempt, claimed_at = excluded.claimed_at`,
        line.skuId,
        orderId,
        attempt,
        this.host.now(),
      );
  }

  /** Drops the holds of `orderId` (of one attempt of it, or all when null). */
  private releaseRows(orderId: string, attempt: string | null): void {
    if (attempt === null) this.host.sql.exec("DELETE FROM checkout_claims WHERE order_id = ?", orderId);
    else this.host.sql.exec("DELETE FROM checkout_claims WHERE order_id = ? AND attempt = ?", orderId, attempt);
  }

  /**
   * An order was placed from this cart: take exactly the checked-out units
   * out of it (a line the buyer raised meanwhile keeps the difference) and
   * list the order. Idempotent by order id: the order's outbox may deliver it twice.
   */
  async applyCheckout(orderId: string, lines: TakenLine[], createdAt: string, code?: string | null): Promise<void> {
    const state = await this.store.loaded();
    if (this.store.wasApplied(`order:${orderId}`)) return;
    this.store.mutate(
      "cart.checked_out",
      null,
      (draft) => {
        for (const taken of lines) {
          const line = draft.get(taken.skuId);
          if (!line) continue;
          const left = line.quantity - taken.quantity;
          if (left > 0) draft.put({ ...line, quantity: left });
          else draft.remove(taken.skuId);
        }
      },
      {
        detail: { orderId },
        // The code went into the order: the cart no longer carries it.
        code: code && state.code === code ? null : undefined,
        alsoWrite: () => {
          this.store.markApplied(`order:${orderId}`);
          this.indexOrder(orderId, createdAt);
          this.releaseRows(orderId, null);
        },
      },
    );
  }

  /** The owner's order ids, newest first; `after` is the cursor the previous page returned. */
  listOrders(after: string | null, limit: number): { orderIds: string[]; next: string | null } {
    const [createdAt, orderId] = after ? splitCursor(after) : [null, null];
    const rows = this.host.sql
      .exec<{ order_id: string; created_at: string }>(
        createdAt === null
          ? "SELECT order_id, created_at FROM orders_index ORDER BY created_at DESC, order_id DESC LIMIT ?"
          : "SELECT order_id, created_at FROM orders_index WHERE (created_at, order_id) < (?, ?) ORDER BY created_at DESC, order_id DESC LIMIT ?",
        ...(createdAt === null ? [limit + 1] : [createdAt, orderId, limit + 1]),
      )
      .toArray();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      orderIds: page.map((r) => r.order_id),
      next: rows.length > limit && last ? `${last.created_at}|${last.order_id}` : null,
    };
  }

  private indexOrder(orderId: string, createdAt: string): void {
    this.host.sql.exec(
      "INSERT INTO orders_index (order_id, created_at) VALUES (?, ?) ON CONFLICT (order_id) DO NOTHING",
      orderId,
      createdAt,
    );
  }
}

function splitCursor(cursor: string): [string, string] {
  const at = cursor.lastIndexOf("|");
  return [cursor.slice(0, at), cursor.slice(at + 1)];
}
