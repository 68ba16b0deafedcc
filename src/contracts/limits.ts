/**
 * The bounds every layer shares, from the HTTP schemas through the actors and
 * the events to Postgres. They are chosen together: the largest cart
 * (MAX_CART_LINES lines of MAX_LINE_QUANTITY units at MAX_UNIT_PRICE) totals
 * MAX_AMOUNT, an exact integer in JavaScript (below 2^53) and in a Postgres
 * bigint, so no amount the API accepts is rounded, overflows, or is refused
 * by a later step (docs/API.md, Money).
 */
export const MAX_CART_LINES = 200;
export const MAX_LINE_QUANTITY = 999;
/** A unit price in minor units: 10^10, i.e. 100,000,000.00 in a currency with cents. */
export const MAX_UNIT_PRICE = 10_000_000_000;
/** Any amount: a total, a payment, a refund. 1,998,000,000,000,000 < 2^53 - 1. */
export const MAX_AMOUNT = MAX_CART_LINES * MAX_LINE_QUANTITY * MAX_UNIT_PRICE;
