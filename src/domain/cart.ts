/**
 * Cart rules without I/O: lines and totals, price markers, the line quantity
 * check and the draft a change is made on (merge rules: cart-merge.ts).
 */
import type { z } from "zod";
import type { CartLineSchema, CartLineViewSchema, PriceChangeSchema } from "../contracts/cart";
import type { ProblemItem } from "./errors";
import type { SkuPublicView, SkuQuote } from "./catalog";
import { productSnapshot, saleNotStarted } from "./catalog";
import { MAX_CART_LINES, MAX_LINE_QUANTITY } from "../contracts/limits";
import { lineAmount, sumAmounts } from "./money";
import type { CodeStatus, Discount, Promotion } from "./promotions";
import { applyPromotions, selectPromotions } from "./promotions";
import { isGuestOwner, remainingAllowance } from "./stock";

/** A stored cart line: the SKU as it was when added, plus the buyer's choices (contracts/cart.ts). */
export type CartLine = z.infer<typeof CartLineSchema>;

/** What the cart actor stores and what the Redis snapshot holds. */
export interface CartState {
  cartKey: string;
  version: number;
  currency: string | null;
  lines: CartLine[];
  updatedAt: string | null;
  /** The promotion code the buyer applied (upper-cased), if any; absent in copies written before codes existed. */
  code?: string | null;
}

export type PriceChange = z.infer<typeof PriceChangeSchema>;

/** A line as the cart view shows it, priced now; `available`: it can be checked out as it is. */
export type CartLineView = z.infer<typeof CartLineViewSchema>;

export interface CartTotals {
  totalItems: number;
  totalQuantity: number;
  totalAmount: number;
  /** Units in lines that are selected and available. */
  selectedCount: number;
  /** Amount of lines that are selected and available. */
  selectedAmount: number;
  /** What checkout would charge: the selected, available lines (= selectedAmount) ... */
  subtotal: number;
  /** ... less each promotion's discount on them ... */
  discounts: Discount[];
  /** ... never below zero. */
  total: number;
}

export interface CartView {
  cartId: string;
  version: number;
  currency: string | null;
  items: CartLineView[];
  totals: CartTotals;
  /** The applied code, or null. */
  promotion: CodeStatus | null;
  updatedAt: string | null;
}

export function priceChangeOf(unitPrice: number, currentPrice: number): PriceChange {
  if (currentPrice > unitPrice) return "up";
  if (currentPrice < unitPrice) return "down";
  return null;
}

/**
 * Renders a cart with price markers and availability from the SKUs' current
 * state, and the discounts of the active promotions (the automatic ones and
 * the cart's code) on its selected, available lines. A SKU missing from
 * `skus` (deleted, or not readable right now) shows the line's snapshot price
 * and counts as unavailable.
 */
export function presentCart(
  state: CartState,
  skus: ReadonlyMap<string, SkuPublicView | null>,
  promotions: readonly Promotion[] = [],
  now = Date.now(),
): CartView {
  const items = state.lines.map((line): CartLineView => {
    const sku = skus.get(line.skuId) ?? null;
    const currentPrice = sku?.price ?? line.unitPrice;
    const active = sku !== null && sku.status === "active";
    const outOfStock = sku === null ? false : sku.available < line.quantity;
    const limitExceeded = sku?.purchaseLimit != null && line.quantity > sku.purchaseLimit;
    return {
      ...productSnapshot(line),
      quantity: line.quantity,
      selected: line.selected,
      unitPrice: line.unitPrice,
      currentPrice,
      priceChange: priceChangeOf(line.unitPrice, currentPrice),
      available: active && !outOfStock && !limitExceeded,
      outOfStock,
      limitExceeded,
      lineTotal: lineAmount(currentPrice, line.quantity),
      discounts: [],
      addedAt: line.addedAt,
    };
  });
  const selected = items.filter((item) => item.selected && item.available);
  const priced = selected.map((item) => ({ ...item, unitPrice: item.currentPrice }));
  const { apply, status } = selectPromotions({
    code: state.code ?? null,
    lines: priced,
    currency: state.currency,
    promotions,
    guest: isGuestOwner(state.cartKey),
    now,
  });
  const discounted = applyPromotions(priced, apply);
  selected.forEach((item, i) => {
    item.discounts = discounted.lines[i]!;
  });
  const totals: CartTotals = {
    totalItems: items.length,
    totalQuantity: items.reduce((n, item) => n + item.quantity, 0),
    totalAmount: sumAmounts(items.map((item) => item.lineTotal)),
    selectedCount: selected.reduce((n, item) => n + item.quantity, 0),
    selectedAmount: discounted.subtotal,
    subtotal: discounted.subtotal,
    discounts: discounted.discounts,
    total: discounted.total,
  };
  return {
    cartId: state.cartKey,
    version: state.version,
    currency: state.currency,
    items,
    totals,
    promotion: status,
    updatedAt: state.updatedAt,
  };
}

export interface LineQuantityCheck {
  sku: SkuQuote | null;
  /** The line as it is now, if the cart has it. */
  current: CartLine | null;
  newQuantity: number;
  lineCount: number;
  cartCurrency: string | null;
  /** Epoch ms, for a flash sale's start (default: now). */
  now?: number;
}

/**
 * The rules for adding a line or raising its quantity (docs/API.md, Cart). A
 * decrease is always allowed: a buyer may fix an over-full line.
 */
export function checkLineQuantity(c: LineQuantityCheck): ProblemItem | null {
  const { sku, current, newQuantity } = c;
  const skuId = sku?.skuId;
  if (newQuantity > MAX_LINE_QUANTITY) {
    return {
      code: "VALIDATION_FAILED",
      skuId,
      message: `a line holds at most ${MAX_LINE_QUANTITY} units`,
      requested: newQuantity,
    };
  }
  if (current && newQuantity <= current.quantity) return null;
  if (!sku || sku.status !== "active")
    return { code: "SKU_UNAVAILABLE", skuId, message: "the SKU is unknown or not for sale" };
  if (saleNotStarted(sku, c.now ?? Date.now())) {
    return {
      code: "SALE_NOT_STARTED",
      skuId,
      message: `the sale opens at ${sku.saleStartsAt}`,
      saleStartsAt: sku.saleStartsAt,
    };
  }
  if (!current && c.lineCount >= MAX_CART_LINES) {
    return { code: "CART_TOO_LARGE", skuId, message: `a cart holds at most ${MAX_CART_LINES} lines` };
  }
  if (c.cartCurrency !== null && c.cartCurrency !== sku.currency) {
    return {
      code: "CURRENCY_MISMATCH",
      skuId,
      message: `the cart is in ${c.cartCurrency}, the SKU in ${sku.currency}`,
    };
  }
  const allowance = remainingAllowance(sku.purchaseLimit, sku.ownerUnits);
  if (newQuantity > allowance) {
    return {
      code: "LIMIT_EXCEEDED",
      skuId,
      message: `at most ${sku.purchaseLimit} per customer`,
      limit: sku.purchaseLimit,
      alreadyPurchased: sku.ownerUnits,
      requested: newQuantity,
    };
  }
  if (newQuantity > sku.available) {
    return {
      code: "OUT_OF_STOCK",
      skuId,
      message: `only ${sku.available} available`,
      available: sku.available,
      requested: newQuantity,
    };
  }
  return null;
}

/**
 * A change to a cart's lines in progress: the actor applies edits to it, then
 * commits it as one new version. It knows which lines were written and which
 * removed, so storage and events carry only what changed.
 */
export class CartDraft {
  private readonly lines: Map<string, CartLine>;
  private readonly touched = new Set<string>();
  private readonly dropped = new Set<string>();
  private nextPosition: number;

  constructor(lines: readonly CartLine[]) {
    this.lines = new Map(lines.map((l) => [l.skuId, l]));
    this.nextPosition = lines.reduce((max, l) => Math.max(max, l.position + 1), 0);
  }

  get size(): number {
    return this.lines.size;
  }

  get changed(): boolean {
    return this.touched.size > 0 || this.dropped.size > 0;
  }

  get(skuId: string): CartLine | null {
    return this.lines.get(skuId) ?? null;
  }

  all(): CartLine[] {
    return [...this.lines.values()];
  }

  /** Writes a line; a new SKU goes to the end of the cart. Writing an identical line is not a change. */
  put(line: Omit<CartLine, "position" | "version"> & Partial<Pick<CartLine, "position" | "version">>): void {
    const current = this.lines.get(line.skuId);
    const next: CartLine = {
      ...line,
      position: current?.position ?? this.nextPosition++,
      version: current?.version ?? 0,
    };
    if (current && sameLine(current, next)) return;
    this.lines.set(line.skuId, next);
    this.touched.add(line.skuId);
    this.dropped.delete(line.skuId);
  }

  remove(skuId: string): void {
    if (!this.lines.delete(skuId)) return;
    this.touched.delete(skuId);
    this.dropped.add(skuId);
  }

  /** The lines after the change, stamped with the new version, in insertion order. */
  commit(version: number): { lines: CartLine[]; upserted: CartLine[]; removed: string[] } {
    const upserted: CartLine[] = [];
    for (const skuId of this.touched) {
      const line = { ...this.lines.get(skuId)!, version };
      this.lines.set(skuId, line);
      upserted.push(line);
    }
    const lines = [...this.lines.values()].sort((a, b) => a.position - b.position);
    return { lines, upserted, removed: [...this.dropped] };
  }
}

function sameLine(a: CartLine, b: CartLine): boolean {
  return (
    a.quantity === b.quantity &&
    a.selected === b.selected &&
    a.unitPrice === b.unitPrice &&
    a.name === b.name &&
    a.image === b.image
  );
}

/** A new line from the SKU as it is now: the snapshot the cart keeps. */
export function lineFromSku(sku: SkuPublicView, quantity: number, now: string): Omit<CartLine, "position" | "version"> {
  return {
    ...productSnapshot(sku),
    quantity,
    selected: true,
    unitPrice: sku.price,
    currency: sku.currency,
    addedAt: now,
  };
}
