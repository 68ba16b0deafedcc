// A PENDING order to start tests from (pure data: usable in Node and in workerd).
import type { Order } from "../../src/domain/order";

export function pendingOrder(over: Partial<Order> = {}, now = Date.now()): Order {
  return {
    orderId: "ord_1",
    ownerId: "user:u1",
    source: "checkout",
    status: "PENDING",
    items: [
      {
        skuId: "s",
        productId: "p",
        merchantId: "m",
        name: "n",
        image: null,
        spec: null,
        quantity: 1,
        unitPrice: 2500,
        lineTotal: 2500,
      },
    ],
    total: 2500,
    currency: "USD",
    createdAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 60_000).toISOString(),
    paidAt: null,
    closedAt: null,
    refundRequired: false,
    payments: [],
    version: 1,
    ...over,
  };
}

/** A PAID order as payment leaves it: its success recorded (transaction `tx_paid`). */
export function paidOrder(over: Partial<Order> = {}, now = Date.now()): Order {
  const order = pendingOrder(over, now);
  return {
    ...order,
    status: "PAID",
    paidAt: new Date(now - 30_000).toISOString(),
    payments: [
      {
        eventId: "evt_paid",
        transactionId: "tx_paid",
        type: "payment.succeeded",
        status: "SUCCEEDED",
        amount: order.total,
        currency: order.currency,
        reason: null,
        receivedAt: new Date(now - 30_000).toISOString(),
      },
    ],
    ...over,
  };
}
