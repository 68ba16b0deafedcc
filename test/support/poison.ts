// A poisoned event (pure data: usable in Node and in workerd): a well-formed cart event whose
// line name holds a NUL byte, which Postgres can never store. The consumer dead-letters it at
// once; the dead letter keeps it with the NUL made visible (`\u0000` as text), so a replay of
// the stored payload lands.
import type { Envelope } from "../../src/events/envelope";

export function poisonedCartEvent(eventId: string, cartKey: string, skuId = "tee-poison"): Envelope<"cart.item_added"> {
  const at = new Date().toISOString();
  return {
    id: eventId,
    type: "cart.item_added",
    occurredAt: at,
    aggregateId: cartKey,
    version: 1,
    data: {
      cartKey,
      currency: "USD",
      updatedAt: at,
      upserted: [
        {
          skuId,
          productId: "p-poison",
          merchantId: "m-poison",
          name: "Tee\u0000 with a NUL",
          image: null,
          spec: null,
          quantity: 1,
          selected: true,
          unitPrice: 1500,
          currency: "USD",
          addedAt: at,
          position: 0,
          version: 1,
        },
      ],
      removed: [],
      complete: false,
    },
  };
}
