/**
 * What the cart actor answers over RPC: the shapes the edge (http/) and the
 * order actor rely on. Types only; the rules live in `cart.ts`.
 */
import type { CartLine, CartState } from "./cart";
import type { MergeStrategy } from "./cart-merge";
import type { Outcome } from "./errors";

export type CartOutcome = Outcome<{ cart: CartState }>;

/** What an edit answers the edge: the new state and the whole cart as JSON (`GET /v1/cart`), rendered by the actor. */
export type CartEditOutcome = Outcome<{ cart: CartState; view: string }>;

export interface MergeReport {
  strategy: MergeStrategy;
  from: string;
  /** Guest lines folded in (including ones clamped to a smaller quantity). */
  merged: number;
  /** Lines not taken as the strategy asked, because of stock, limits or the line cap. */
  clamped: { skuId: string; requested: number; applied: number; code: string }[];
  /** The guest cart's promotion code, if it had one: carried over, or why not (the user's own code stays). */
  promotion?: { code: string; carried: boolean; reason: string | null };
}

export type MergeOutcome = Outcome<{ cart: CartState; merge: MergeReport | null; view: string }>;

/** Guest lines detached for a merge, held by the guest cart until the user cart confirms. */
export interface DetachedLines {
  token: string;
  lines: CartLine[];
  /** The guest cart's promotion code, carried over if the user may use it. */
  code: string | null;
}

export interface Selection {
  selected: boolean;
  skuIds?: string[];
  merchantId?: string;
  all?: boolean;
}

/** The units of one line an order took from the cart. */
export interface TakenLine {
  skuId: string;
  quantity: number;
}
