/**
 * The cart's side of checkout: which lines a checkout takes, taking them out
 * once the order exists, and the owner's order index (its own orders listed
 * newest first).
 */
import type { CartLine } from "../../domain/cart";
import type { TakenLine } from "../../domain/cart-contract";
import { notInCartForCheckout } from "../../domain/cart-refusals";
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { CartBook } from "./book";
import type { CartHost } from "./host";

export class CartOrders {
  constructor(
    private readonly host: CartHost,
    private readonly book: CartBook,
  ) {
    host.schema.ensure("CREATE TABLE IF NOT EXISTS orders_index (order_id TEXT PRIMARY KEY, created_at TEXT NOT NULL)");
  }

  /** The lines a checkout takes: the named ones, or the selected ones. */
  async linesForCheckout(ownerId: string, skuIds: string[] | null): Promise<Outcome<{ lines: CartLine[] }>> {
    const state = await this.book.loaded();
    if (ownerId !== this.host.cartKey) return refuse("FORBIDDEN", "not this buyer's cart");
    if (skuIds) {
      const missing = skuIds.filter((id) => !state.lines.some((l) => l.skuId === id));
      if (missing.length > 0) return notInCartForCheckout(missing);
    }
    const lines = skuIds ? state.lines.filter((l) => skuIds.includes(l.skuId)) : state.lines.filter((l) => l.selected);
    if (lines.length === 0)
      return refuse("CHECKOUT_EMPTY", "nothing to check out: select lines or name them in skuIds");
    return { ok: true, lines };
  }

  /**
   * An order was placed from this cart: take exactly the checked-out units
   * out of it (a line the buyer raised meanwhile keeps the difference) and
   * list the order. Idempotent by order id: the order's outbox may deliver it twice.
   */
  async applyCheckout(orderId: string, lines: TakenLine[], createdAt: string): Promise<void> {
    await this.book.loaded();
    if (this.book.wasApplied(`order:${orderId}`)) return;
    this.book.mutate(
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
        alsoWrite: () => {
          this.book.markApplied(`order:${orderId}`);
          this.indexOrder(orderId, createdAt);
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
