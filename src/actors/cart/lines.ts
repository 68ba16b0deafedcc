/**
 * Editing a cart: add, update, remove, select, clear, and the guest cart's
 * expiry. The SKU is consulted first (an await), then the check against the
 * cart as it is at that moment and the write happen in one synchronous change,
 * so two devices editing at once never lose or double an edit.
 */
import { checkLineQuantity, lineFromSku } from "../../domain/cart";
import type { CartEditOutcome, Selection } from "../../domain/cart-contract";
import { lineRefusal, notInCart } from "../../domain/cart-refusals";
import { guestCartTtlMs } from "../../env";
import type { CartStore } from "./store";
import type { CartHost } from "./host";
import type { CartSkus } from "./skus";

export class CartLines {
  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
    private readonly skus: CartSkus,
  ) {}

  /** Adds units of a SKU; an existing line's quantity is summed. */
  async addItem(skuId: string, quantity: number, ifMatch: number | null): Promise<CartEditOutcome> {
    const state = await this.store.loaded();
    const sku = await this.skus.quote(skuId, (state.lines.find((l) => l.skuId === skuId)?.quantity ?? 0) + quantity);
    return this.skus.withView(
      this.store.mutate("cart.item_added", ifMatch, (draft) => {
        const current = draft.get(skuId);
        const newQuantity = (current?.quantity ?? 0) + quantity;
        const problem = checkLineQuantity({
          sku,
          current,
          newQuantity,
          lineCount: draft.size,
          cartCurrency: this.store.currencyOf(draft),
          now: this.host.now(),
        });
        if (problem) return lineRefusal(problem, skuId);
        draft.put(
          current
            ? { ...current, quantity: newQuantity }
            : lineFromSku(sku!, newQuantity, new Date(this.host.now()).toISOString()),
        );
      }),
    );
  }

  /** Sets a line's quantity (0 removes it) and/or its selection. */
  async updateItem(
    skuId: string,
    patch: { quantity?: number; selected?: boolean },
    ifMatch: number | null,
  ): Promise<CartEditOutcome> {
    const state = await this.store.loaded();
    if (!state.lines.some((l) => l.skuId === skuId)) return notInCart(skuId);
    const sku = patch.quantity ? await this.skus.quote(skuId, patch.quantity) : null;
    return this.skus.withView(
      this.store.mutate(patch.quantity === 0 ? "cart.item_removed" : "cart.item_updated", ifMatch, (draft) => {
        const current = draft.get(skuId);
        if (!current) return notInCart(skuId);
        if (patch.quantity === 0) return draft.remove(skuId);
        const next = { ...current };
        if (patch.quantity !== undefined) {
          const problem = checkLineQuantity({
            sku,
            current,
            newQuantity: patch.quantity,
            lineCount: draft.size,
            cartCurrency: this.store.currencyOf(draft),
            now: this.host.now(),
          });
          if (problem) return lineRefusal(problem, skuId);
          next.quantity = patch.quantity;
        }
        if (patch.selected !== undefined) next.selected = patch.selected;
        draft.put(next);
      }),
    );
  }

  /** Removes lines; removing a line that is not there changes nothing. */
  async removeItems(skuIds: string[], ifMatch: number | null): Promise<CartEditOutcome> {
    await this.store.loaded();
    return this.skus.withView(
      this.store.mutate("cart.item_removed", ifMatch, (draft) => skuIds.forEach((id) => draft.remove(id))),
    );
  }

  async select(selection: Selection, ifMatch: number | null): Promise<CartEditOutcome> {
    await this.store.loaded();
    const wanted = selection.skuIds ? new Set(selection.skuIds) : null;
    return this.skus.withView(
      this.store.mutate("cart.selection_changed", ifMatch, (draft) => {
        for (const line of draft.all()) {
          const hit =
            selection.all === true ||
            wanted?.has(line.skuId) ||
            (selection.merchantId !== undefined && line.merchantId === selection.merchantId);
          if (hit) draft.put({ ...line, selected: selection.selected });
        }
      }),
    );
  }

  async clear(ifMatch: number | null): Promise<CartEditOutcome> {
    await this.store.loaded();
    return this.skus.withView(
      this.store.mutate("cart.cleared", ifMatch, (draft) => draft.all().forEach((l) => draft.remove(l.skuId))),
    );
  }

  /** When a guest cart with lines expires (null: a user cart, an empty one, or not loaded). */
  expiresAt(): number | null {
    const state = this.store.current;
    if (!this.host.isGuest || !state || state.lines.length === 0 || !state.updatedAt) return null;
    return Date.parse(state.updatedAt) + guestCartTtlMs(this.host.env);
  }

  /** Guest carts expire GUEST_CART_TTL_DAYS (30 by default) after their last change. */
  expireIfDue(now: number): void {
    const at = this.expiresAt();
    if (at !== null && at <= now)
      this.store.mutate("cart.expired", null, (draft) => draft.all().forEach((l) => draft.remove(l.skuId)));
  }
}
