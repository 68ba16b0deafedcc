/**
 * Order ids are opaque to clients, but they carry where the order lives
 * (docs/API.md, Flash buy):
 *   ord_<32 hex>                 a checkout order, in its own order actor
 *                                (named by the id; the hash is of buyer + Idempotency-Key)
 *   fl_<32 hex>.<stripe>.<skuId>  a flash order, kept by the SKU stripe that
 *                                reserved its stock, so a flash buy opens no other actor
 */
const CHECKOUT_ORDER = /^ord_[0-9a-f]{32}$/;
const FLASH_ORDER = /^fl_([0-9a-f]{32})\.(\d{1,2})\.([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;

export type OrderHome =
  | { kind: "checkout"; orderId: string }
  | { kind: "flash"; orderId: string; skuId: string; stripe: number };

export function checkoutOrderId(keyHash: string): string {
  return `ord_${keyHash.slice(0, 32)}`;
}

export function flashOrderId(keyHash: string, stripe: number, skuId: string): string {
  return `fl_${keyHash.slice(0, 32)}.${stripe}.${skuId}`;
}

/** Where an order lives, or null for anything that is not a well-formed order id. */
export function orderHome(orderId: string): OrderHome | null {
  if (CHECKOUT_ORDER.test(orderId)) return { kind: "checkout", orderId };
  const flash = FLASH_ORDER.exec(orderId);
  if (!flash) return null;
  return { kind: "flash", orderId, skuId: flash[3]!, stripe: Number(flash[2]) };
}

/** The longest order id we hand out (a flash order on a 128-character SKU id): every route that takes an id accepts it. */
export const MAX_ORDER_ID_LENGTH = "fl_".length + 32 + ".63.".length + 128;

/** Both forms in one pattern, for request validation and the OpenAPI document. */
export const ORDER_ID = /^(?:ord_[0-9a-f]{32}|fl_[0-9a-f]{32}\.\d{1,2}\.[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
