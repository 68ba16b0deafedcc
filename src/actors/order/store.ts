/**
 * What an order actor keeps: a small key-value table holding the order record
 * (the order, the request it answers, its reservation and who holds each
 * line) and the checkout attempt in progress.
 */
import type { Order } from "../../domain/order";
import type { ActorHost } from "../actor";
import type { OrderCommand } from "../commands";

export interface OrderRecord {
  order: Order;
  requestHash: string;
  reservationId: string;
  /** skuId -> the SKU actor (stripe) holding that line's reservation; absent = the SKU's own actor. */
  holders?: Record<string, string>;
}

/** A checkout that has started reserving and not finished yet (recorded before reserving, so a crash half-way is cleaned up). */
export interface Attempt {
  reservationId: string;
  requestHash: string;
  ownerId: string;
  lines: { skuId: string; quantity: number }[];
  expiresAt: number;
  startedAt: number;
  /** The hold on the cart's lines this attempt took (absent in attempts recorded before holds existed). */
  claim?: string;
  /** Limited promotions this attempt reserves a redemption of (by id). */
  redemptions?: string[];
}

export class OrderStore {
  private current: OrderRecord | null;

  constructor(private readonly host: ActorHost) {
    host.schema.ensure("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.current = this.read<OrderRecord>("order");
  }

  /** The order record (null before the order exists). */
  get record(): OrderRecord | null {
    return this.current;
  }

  /** Call inside a transaction. */
  save(record: OrderRecord): void {
    this.write("order", record);
    this.current = record;
  }

  /** Storage rolled back: read the record again. */
  reload(): void {
    this.current = this.read<OrderRecord>("order");
  }

  read<T>(key: string): T | null {
    const row = this.host.sql.exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  write(key: string, value: unknown): void {
    this.host.sql.exec(
      "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      JSON.stringify(value),
    );
  }

  delete(key: string): void {
    this.host.sql.exec("DELETE FROM kv WHERE key = ?", key);
  }
}

/** A stock command for the SKU actor (stripe) `holder` that keeps the reservation. */
export function stockCommand(
  holder: string,
  name: "commit" | "release" | "restock",
  reservationId: string,
  reason: string,
): OrderCommand {
  return { target: `sku:${holder}`, name, args: { reservationId, reason } };
}
