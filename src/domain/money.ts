/**
 * Money arithmetic: integer minor units only (docs/API.md, Money). The bounds
 * in limits.ts keep every sum below 2^53, so plain numbers are exact; these
 * functions still refuse a result that is not, rather than return a rounded one.
 */
import { MAX_AMOUNT } from "../contracts/limits";

function exact(amount: number, what: string): number {
  if (!Number.isSafeInteger(amount) || amount < 0 || amount > MAX_AMOUNT)
    throw new RangeError(`${what} ${amount} is outside 0..${MAX_AMOUNT} minor units`);
  return amount;
}

/** A line's amount: unit price times quantity. */
export function lineAmount(unitPrice: number, quantity: number): number {
  return exact(unitPrice * quantity, "line amount");
}

/** The sum of amounts (a total). */
export function sumAmounts(amounts: Iterable<number>): number {
  let total = 0;
  for (const amount of amounts) total += amount;
  return exact(total, "total");
}
