/**
 * How a cart sees its SKUs: the quote an edit checks (from the isolate's SKU
 * views when that is safe, else from the SKU actor) and the cart rendered as
 * `GET /v1/cart` answers it, with price markers from the same views.
 */
import { promotionCache } from "../../cache/promotions";
import { skuViewCache } from "../../cache/sku-views";
import type { CartState, CartView } from "../../domain/cart";
import { presentCart } from "../../domain/cart";
import type { CartEditOutcome, CartOutcome } from "../../domain/cart-contract";
import type { SkuPublicView, SkuQuote } from "../../domain/catalog";
import type { PricedLine } from "../../domain/promotions";
import type { CartHost } from "./host";

export class CartSkus {
  constructor(private readonly host: CartHost) {}

  /**
   * The SKU as an edit checks it. A SKU without a purchase limit whose view
   * this isolate saw within the last second, active and with at least
   * `quantity` units, is taken from that view (no round trip): add-time stock
   * checks are advisory for a cart, checkout reserves against the SKU itself.
   * Anything else (a purchase limit, which depends on this buyer's own
   * orders, a scheduled sale, or an answer that would refuse) is asked of the SKU.
   */
  async quote(skuId: string, quantity: number): Promise<SkuQuote | null> {
    const cached = skuViewCache.fresh(skuId);
    if (
      cached &&
      cached.status === "active" &&
      cached.purchaseLimit === null &&
      cached.saleStartsAt === null &&
      cached.available >= quantity
    )
      return { ...cached, ownerUnits: 0 };
    const quote = await this.host.env.SKUS.getByName(skuId).quote(this.host.cartKey);
    skuViewCache.put(skuId, quote && viewOf(quote));
    return quote;
  }

  /**
   * The whole cart as the JSON `GET /v1/cart` answers, with the active promotions' discounts;
   * stale SKU views and a stale copy of the promotions are refreshed after answering.
   */
  async render(state: CartState): Promise<string> {
    const env = this.host.env;
    const [{ views, refresh }, promotions] = await Promise.all([
      skuViewCache.views(
        env,
        state.lines.map((l) => l.skuId),
      ),
      promotionCache.active(env),
    ]);
    if (refresh.length > 0) this.host.waitUntil(skuViewCache.refresh(env, refresh));
    if (promotions.refresh) this.host.waitUntil(promotionCache.refresh(env));
    return JSON.stringify(presentCart(state, views, promotions.promotions, this.host.now()) satisfies CartView);
  }

  /** The cart's selected, available lines priced now: what a promotion applies to. */
  async selection(state: CartState): Promise<PricedLine[]> {
    const { views } = await skuViewCache.views(
      this.host.env,
      state.lines.map((l) => l.skuId),
    );
    return presentCart({ ...state, code: null }, views)
      .items.filter((item) => item.selected && item.available)
      .map((item) => ({ ...item, unitPrice: item.currentPrice }));
  }

  /** An edit's outcome with the cart rendered, as the edge answers it. */
  async withView(outcome: CartOutcome): Promise<CartEditOutcome> {
    return outcome.ok ? { ...outcome, view: await this.render(outcome.cart) } : outcome;
  }
}

function viewOf(quote: SkuQuote): SkuPublicView {
  const { ownerUnits: _, ...view } = quote;
  return view;
}
