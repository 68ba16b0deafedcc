/**
 * Order projections: the order row and its items (newest version wins), and
 * the payment records (one row per provider event).
 */
import { sql } from "drizzle-orm";
import { productSnapshot } from "../../domain/catalog";
import { sumAmounts } from "../../domain/money";
import type { Order } from "../../domain/order";
import type { PaymentRecordedData } from "../../events/envelope";
import { orderItems, orders, payments } from "../tables";
import type { Writer } from "./writer";
import { excludedColumns, latestVersions } from "./writer";

export async function upsertOrders(tx: Writer, all: Order[]): Promise<void> {
  const latest = latestVersions(all, (o) => o.orderId);
  const updatedAt = new Date().toISOString();
  await tx
    .insert(orders)
    .values(
      latest.map((o) => ({
        orderId: o.orderId,
        ownerId: o.ownerId,
        source: o.source,
        status: o.status,
        subtotal: o.subtotal ?? o.total,
        discount: sumAmounts((o.discounts ?? []).map((d) => d.amount)),
        discounts: o.discounts ?? [],
        total: o.total,
        currency: o.currency,
        refundRequired: o.refundRequired,
        createdAt: o.createdAt,
        expiresAt: o.expiresAt,
        paidAt: o.paidAt,
        closedAt: o.closedAt,
        version: o.version,
        updatedAt,
      })),
    )
    .onConflictDoUpdate({
      target: orders.orderId,
      set: excludedColumns(orders, ["orderId", "createdAt"]),
      setWhere: sql`${orders.version} < excluded.version`,
    });
  const items = latest.flatMap((o) =>
    o.items.map((i) => ({
      orderId: o.orderId,
      ...productSnapshot(i),
      quantity: i.quantity,
      unitPrice: i.unitPrice,
      lineTotal: i.lineTotal,
      discount: sumAmounts((i.discounts ?? []).map((d) => d.amount)),
    })),
  );
  if (items.length > 0) await tx.insert(orderItems).values(items).onConflictDoNothing();
}

export async function recordPayments(tx: Writer, all: PaymentRecordedData[]): Promise<void> {
  await tx
    .insert(payments)
    .values(
      all.map(({ orderId, payment: p }) => ({
        eventId: p.eventId,
        transactionId: p.transactionId,
        orderId,
        type: p.type,
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        reason: p.reason,
        receivedAt: p.receivedAt,
      })),
    )
    .onConflictDoNothing();
}
