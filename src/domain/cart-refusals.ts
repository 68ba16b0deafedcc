/**
 * The refusals a cart edit answers with, built in one place so the messages
 * and problem items stay the same wherever a cart says no.
 */
import type { ProblemItem, Refusal } from "./errors";
import { refuse } from "./errors";
import type { Unmet } from "./promotions";

/** A line check's problem (`checkLineQuantity`) as the refusal of an edit of `skuId`. */
export function lineRefusal(problem: ProblemItem, skuId: string): Refusal {
  return refuse(problem.code as Refusal["code"], problem.message ?? problem.code, [{ ...problem, skuId }]);
}

export function notInCart(skuId: string): Refusal {
  return refuse("NOT_FOUND", `SKU ${skuId} is not in the cart`, [{ code: "NOT_IN_CART", skuId }]);
}

/** An If-Match that names another version than the cart's `current`. */
export function versionConflict(current: number): Refusal {
  return refuse("VERSION_CONFLICT", `the cart is at version ${current}; reload it and retry`, [
    { code: "VERSION_CONFLICT", currentVersion: current },
  ]);
}

/** Checkout named lines that are not in the cart. */
export function notInCartForCheckout(missing: string[]): Refusal {
  return refuse(
    "VALIDATION_FAILED",
    "some skuIds are not in the cart",
    missing.map((skuId) => ({ code: "NOT_IN_CART", skuId })),
  );
}

/** Lines another checkout of this cart holds (one order per line); its order id lets the client find it. */
export function checkoutInProgress(orderId: string, skuIds: string[]): Refusal {
  return refuse(
    "CHECKOUT_IN_PROGRESS",
    "another checkout of this cart is taking these lines; reload the cart and your orders",
    skuIds.map((skuId) => ({ code: "CHECKOUT_IN_PROGRESS", skuId, orderId })),
  );
}

/** No promotion has this code. */
export function unknownCode(code: string): Refusal {
  return refuse("PROMOTION_UNKNOWN", `no promotion has the code ${code}`, [
    { code: "PROMOTION_UNKNOWN", promotionCode: code },
  ]);
}

/** A code that does not apply now: its refusal code, and the unmet condition (with the terms it names) in `errors`. */
export function promotionRefusal(unmet: Unmet, code: string): Refusal {
  const { code: refusal, detail, ...condition } = unmet;
  return refuse(refusal, detail, [{ code: refusal, promotionCode: code, ...condition }]);
}
