/**
 * Promotion routes: the admin's create, update (deactivate = active false),
 * read and list, and the cart's code (apply, remove).
 */
import { promotionCatalog } from "../cache/promotions";
import { unwrap } from "../domain/errors";
import { cartEdit } from "./cart";
import type { App } from "./route";
import { route, routeOne } from "./route";
import {
  ApplyCodeBody,
  CodeParams,
  PromotionListSchema,
  PromotionParams,
  PromotionsQuery,
  PromotionUpsertBody,
  PromotionViewSchema,
} from "./validation/promotions";

/** How a promotion code is refused, wherever one is used (a cart, a checkout, a flash buy). */
export const PROMOTION_REFUSALS = [
  "PROMOTION_UNKNOWN",
  "PROMOTION_EXPIRED",
  "PROMOTION_NOT_APPLICABLE",
  "PROMOTION_EXHAUSTED",
  "PROMOTION_LIMIT_PER_CUSTOMER",
] as const;

const CODE_REFUSALS = [...PROMOTION_REFUSALS, "VERSION_CONFLICT"] as const;

export function promotionRoutes(app: App): void {
  const tag = "Promotions";
  route(
    app,
    {
      method: "put",
      path: "/v1/admin/promotions/{promotionId}",
      tag,
      summary: "Create or update a promotion (a code, or automatic without one)",
      description:
        "Deactivate with `active: false`. A limit moves the budget by the difference, so redemptions in flight are kept; a limit below what is used and reserved is 409. 201 when created.",
      access: "admin",
      params: PromotionParams,
      body: PromotionUpsertBody,
      ok: { status: 200, description: "The promotion with its budget", schema: PromotionViewSchema },
      problems: ["PROMOTION_CODE_TAKEN", "PROMOTION_LIMIT_TOO_LOW"],
    },
    async (c, { params, body }) => {
      const iso = (t: string | undefined) => (t ? new Date(t).toISOString() : null);
      const { promotion, created } = unwrap(
        await promotionCatalog(c.env).upsert(params.promotionId, {
          code: body.code ?? null,
          kind: body.kind,
          value: body.value,
          get: body.kind === "buy_x_get_y" ? (body.get ?? 1) : null,
          currency: body.currency ?? null,
          appliesTo: body.appliesTo
            ? { skuIds: body.appliesTo.skuIds ?? null, merchantIds: body.appliesTo.merchantIds ?? null }
            : null,
          minSubtotal: body.minSubtotal ?? null,
          startsAt: iso(body.startsAt),
          endsAt: iso(body.endsAt),
          limit: body.limit ?? null,
          limitPerCustomer: body.limitPerCustomer ?? null,
          stripes: body.stripes,
          active: body.active,
        }),
      );
      return c.json(promotion, created ? 201 : 200);
    },
  );

  routeOne(
    app,
    {
      path: "/v1/admin/promotions/{promotionId}",
      tag,
      summary: "A promotion with used, reserved and remaining redemptions",
      access: "admin",
      params: PromotionParams,
      ok: { status: 200, description: "The promotion with its budget", schema: PromotionViewSchema },
    },
    (c, { promotionId }) => promotionCatalog(c.env).get(promotionId),
    ({ promotionId }) => `no promotion ${promotionId}`,
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/admin/promotions",
      tag,
      summary: "Promotions by id, a page at a time",
      access: "admin",
      query: PromotionsQuery,
      ok: {
        status: 200,
        description: "A page; pass `next` as `cursor` for the following one",
        schema: PromotionListSchema,
      },
    },
    async (c, { query }) => c.json(await promotionCatalog(c.env).list(query.cursor ?? null, query.limit)),
  );

  cartEdit(
    app,
    {
      method: "post",
      path: "/v1/cart/promotions",
      summary: "Apply a promotion code to the cart (it replaces the code applied before)",
      description:
        "The code must apply now: active and within its dates, in the cart's currency, with matching selected lines, the minimum subtotal reached, and budget left for this buyer (a limited code needs a signed-in user). The cart view then shows the discount per line and in the totals.",
      body: ApplyCodeBody,
      problems: [...CODE_REFUSALS],
    },
    (cart, { body }, ifMatch) => cart.applyCode(body.code, ifMatch),
  );

  cartEdit(
    app,
    {
      method: "delete",
      path: "/v1/cart/promotions/{code}",
      summary: "Remove the promotion code from the cart (idempotent)",
      params: CodeParams,
      problems: ["VERSION_CONFLICT"],
    },
    (cart, { params }, ifMatch) => cart.removeCode(params.code, ifMatch),
  );
}
