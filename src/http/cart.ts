/**
 * Cart routes: reads, the edits (one helper for all of them), merge on login,
 * and the live WebSocket with its tickets. How they answer: cart-answers.ts.
 */
import type { z } from "zod";
import type { CartEditOutcome } from "../domain/cart-contract";
import { unwrap } from "../domain/errors";
import { cartOf, cartResponse, countCart, IF_MATCH_HEADER, ifMatch, readCartAtEdge } from "./cart-answers";
import { liveCartRoutes } from "./cart-live";
import type { Operation } from "./openapi";
import type { App } from "./route";
import { route } from "./route";
import {
  AddItemBody,
  BatchDeleteBody,
  CartCountSchema,
  CartViewSchema,
  MergeBody,
  MergeResultSchema,
  SelectBody,
  UpdateItemBody,
} from "./validation/cart";
import { SkuParams } from "./validation/fields";

type CartStub = ReturnType<Env["CARTS"]["getByName"]>;
type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

/**
 * A cart edit: the cart's own credentials, an optional If-Match, the actor
 * call, and the whole cart (with its version as the ETag) as the answer. The
 * edit routes differ only in their path, input and the call they make.
 */
export function cartEdit<B extends z.ZodType | undefined = undefined, P extends z.ZodObject | undefined = undefined>(
  app: App,
  op: Omit<Operation<B, undefined, P>, "tag" | "access" | "headers" | "ok"> & { ok?: string },
  edit: (
    cart: CartStub,
    input: { body: Infer<B>; params: Infer<P> },
    ifMatch: number | null,
  ) => Promise<CartEditOutcome>,
): void {
  const { ok = "The whole cart", ...rest } = op;
  route<B, undefined, P>(
    app,
    {
      ...rest,
      tag: "Cart",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      ok: { status: 200, description: ok, schema: CartViewSchema },
    },
    async (c, { identity, body, params }) => {
      const { cart, view } = unwrap(await edit(cartOf(c, identity.cartKey), { body, params }, ifMatch(c)));
      return cartResponse(c, cart.version, view);
    },
  );
}

export function cartRoutes(app: App): void {
  const tag = "Cart";
  const readHeaders = [
    {
      name: "X-Cart-Version",
      required: false,
      description: "the newest cart version this client has seen; an older snapshot is skipped",
    },
  ];

  route(
    app,
    {
      method: "get",
      path: "/v1/cart",
      tag,
      summary: "The cart with price markers and totals",
      description:
        "With `X-Cart-Version` or `If-None-Match` (the ETag of the client's last answer), the cart comes from its snapshot near the client whenever that is at least as new (`X-Cart-Source: snapshot`), else from its actor; an `If-None-Match` that names the current version is 304 with no body. Without either, the actor answers.",
      access: "cart",
      headers: [
        {
          name: "X-Cart-Version",
          required: false,
          description: "the newest cart version this client has seen: a snapshot at least this new answers",
        },
        {
          name: "If-None-Match",
          required: false,
          description: "the ETag of the client's last answer: 304 while the cart is still at that version",
        },
      ],
      ok: { status: 200, description: "The cart (ETag: its version)", schema: CartViewSchema },
    },
    async (c, { identity }) => readCartAtEdge(c, identity.cartKey),
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/cart/count",
      tag,
      summary: "Line and unit counts (for a cart badge)",
      access: "cart",
      headers: readHeaders,
      ok: { status: 200, description: "Counts", schema: CartCountSchema },
    },
    async (c, { identity }) => c.json(await countCart(c, identity.cartKey)),
  );

  cartEdit(
    app,
    {
      method: "post",
      path: "/v1/cart/items",
      summary: "Add a SKU (an existing line's quantity is summed)",
      rateLimited: true,
      body: AddItemBody,
      problems: [
        "SKU_UNAVAILABLE",
        "SALE_NOT_STARTED",
        "OUT_OF_STOCK",
        "LIMIT_EXCEEDED",
        "CART_TOO_LARGE",
        "CURRENCY_MISMATCH",
        "VERSION_CONFLICT",
      ],
    },
    (cart, { body }, ifMatch) => cart.addItem(body.skuId, body.quantity, ifMatch),
  );

  cartEdit(
    app,
    {
      method: "patch",
      path: "/v1/cart/items/{skuId}",
      summary: "Change a line's quantity (0 removes it) or selection",
      params: SkuParams,
      body: UpdateItemBody,
      problems: [
        "NOT_FOUND",
        "SKU_UNAVAILABLE",
        "SALE_NOT_STARTED",
        "OUT_OF_STOCK",
        "LIMIT_EXCEEDED",
        "VERSION_CONFLICT",
      ],
    },
    (cart, { params, body }, ifMatch) => cart.updateItem(params.skuId, body, ifMatch),
  );

  cartEdit(
    app,
    {
      method: "delete",
      path: "/v1/cart/items/{skuId}",
      summary: "Remove one line (idempotent)",
      params: SkuParams,
      problems: ["VERSION_CONFLICT"],
    },
    (cart, { params }, ifMatch) => cart.removeItems([params.skuId], ifMatch),
  );

  cartEdit(
    app,
    {
      method: "post",
      path: "/v1/cart/items/batch-delete",
      summary: "Remove several lines",
      body: BatchDeleteBody,
      problems: ["VERSION_CONFLICT"],
    },
    (cart, { body }, ifMatch) => cart.removeItems(body.skuIds, ifMatch),
  );

  cartEdit(
    app,
    {
      method: "post",
      path: "/v1/cart/select",
      summary: "Select or unselect lines: by SKUs, by merchant, or all",
      body: SelectBody,
      problems: ["VERSION_CONFLICT"],
    },
    (cart, { body }, ifMatch) => cart.select(body, ifMatch),
  );

  cartEdit(
    app,
    {
      method: "delete",
      path: "/v1/cart",
      summary: "Clear the cart",
      ok: "The (empty) cart",
      problems: ["VERSION_CONFLICT"],
    },
    (cart, _input, ifMatch) => cart.clear(ifMatch),
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/cart/merge",
      tag,
      summary: "Merge a guest cart into the user's cart (on login)",
      description:
        "sum adds quantities, max keeps the larger, overwrite takes the guest's, keep keeps the user's. Limits and stock still apply; clamped lines are listed in `merge.clamped`. The guest cart is emptied; repeating the call changes nothing.",
      access: "user",
      headers: [IF_MATCH_HEADER],
      body: MergeBody,
      ok: {
        status: 200,
        description: "The user's cart and what the merge did (`merge` is null when there was nothing to merge)",
        schema: MergeResultSchema,
      },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      const result = unwrap(
        await cartOf(c, identity.cartKey).merge(`guest:${body.clientCartId.toLowerCase()}`, body.strategy, ifMatch(c)),
      );
      return cartResponse(c, result.cart.version, result.view, { merge: result.merge });
    },
  );

  liveCartRoutes(app, tag);
}
