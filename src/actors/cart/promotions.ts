/**
 * The cart's promotion code: applying it (checked against the cart as it is:
 * the promotion's conditions, then its budget for this buyer) and removing
 * it. One code at a time: a new code replaces the one applied before. The
 * discounts themselves are computed whenever the cart is rendered
 * (`presentCart`), so a price or stock change, a removed line or an ended
 * promotion shows at once.
 */
import { promotionCache, promotionCatalog } from "../../cache/promotions";
import type { CartState } from "../../domain/cart";
import type { CartEditOutcome } from "../../domain/cart-contract";
import { promotionRefusal, unknownCode } from "../../domain/cart-refusals";
import type { Promotion, Unmet } from "../../domain/promotions";
import { budgetLedgerId, checkBudget, checkPromotion, isLimited, normalizeCode } from "../../domain/promotions";
import type { CartStore } from "./store";
import type { CartHost } from "./host";
import type { CartSkus } from "./skus";

export class CartPromotions {
  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
    private readonly skus: CartSkus,
  ) {}

  /** Applies `code` to the cart (replacing another one), if it applies to the cart and this buyer now. */
  async apply(code: string, ifMatch: number | null): Promise<CartEditOutcome> {
    const normalized = normalizeCode(code);
    const state = await this.store.loaded();
    const promotion = await promotionCatalog(this.host.env).byCode(normalized);
    if (!promotion) return unknownCode(normalized);
    const unmet = await this.unmet(promotion, state);
    if (unmet) return promotionRefusal(unmet, normalized);
    await promotionCache.include(this.host.env, promotion);
    return this.skus.withView(
      this.store.mutate("cart.promotion_applied", ifMatch, () => undefined, { code: normalized }),
    );
  }

  /** Removes `code` from the cart; removing a code the cart does not have changes nothing. */
  async remove(code: string, ifMatch: number | null): Promise<CartEditOutcome> {
    const normalized = normalizeCode(code);
    const state = await this.store.loaded();
    const next = (state.code ?? null) === normalized ? null : undefined;
    return this.skus.withView(this.store.mutate("cart.promotion_removed", ifMatch, () => undefined, { code: next }));
  }

  /**
   * Why the promotion would not apply to this cart and buyer now: its
   * conditions on the selected, available lines, then (for a limited one)
   * its budget as the ledger has it. Checkout checks both again, for real.
   */
  async unmet(promotion: Promotion, state: CartState): Promise<Unmet | null> {
    const lines = await this.skus.selection(state);
    return checkPromotion(promotion, lines, state.currency, this.host.now()) ?? (await this.budget(promotion));
  }

  /** Whether the promotion's budget allows this buyer one more redemption now (a limited code needs a user). */
  async budget(promotion: Promotion): Promise<Unmet | null> {
    if (!isLimited(promotion)) return null;
    if (this.host.isGuest) return checkBudget(promotion, { guest: true, remaining: null, customerRedemptions: 0 });
    const quote = await this.host.env.SKUS.getByName(budgetLedgerId(promotion.promotionId)).quote(this.host.cartKey);
    return checkBudget(promotion, {
      guest: false,
      remaining: promotion.limit === null ? null : (quote?.available ?? 0),
      customerRedemptions: quote?.ownerUnits ?? 0,
    });
  }
}
