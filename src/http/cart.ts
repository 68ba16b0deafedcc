/**
 * Cart routes: reads (from the actor, or Redis when it is slow), the edits,
 * merge on login, and the live WebSocket with its tickets.
 */
import { z } from "zod";
import { readCartSnapshot } from "../cache/cart-snapshots";
import { renderCart } from "../cache/sku-views";
import type { CartEditOutcome } from "../domain/cart-contract";
import { DomainError, unwrap } from "../domain/errors";
import { withTimeout } from "../timeout";
import { liveCartRoutes } from "./cart-live";
import type { Operation } from "./openapi";
import type { App, AppContext } from "./route";
import { issuesOf, route } from "./route";
import {
  AddItemBody,
  BatchDeleteBody,
  CartCountSchema,
  CartViewSchema,
  MergeBody,
  MergeResultSchema,
  SelectBody,
  UpdateItemBody,
} from "./schemas/cart";
import { SkuParams } from "./schemas/fields";

const Version = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A version header: `5`, `"5"` or `W/"5"` (If-Match carries the cart version as an ETag). */
function versionHeader(c: AppContext, name: string): number | null {
  const raw = c.req.header(name);
  if (raw === undefined) return null;
  const parsed = Version.safeParse(
    raw
      .trim()
      .replace(/^W\//, "")
      .replace(/^"(.*)"$/, "$1"),
  );
  if (!parsed.success)
    throw new DomainError(
      "VALIDATION_FAILED",
      `${name} must be a cart version number`,
      issuesOf(parsed.error, `header.${name}`),
    );
  return parsed.data;
}

const ifMatch = (c: AppContext) => versionHeader(c, "if-match");

const IF_MATCH_HEADER = {
  name: "If-Match",
  required: false,
  description: "the cart version the client last saw; a stale one is 412 VERSION_CONFLICT",
};

/** The cart as the actor rendered it (JSON of a CartView), with its version as the ETag. */
function cartResponse(c: AppContext, version: number, view: string, extra?: Record<string, unknown>): Response {
  c.header("content-type", "application/json");
  c.header("etag", `"${version}"`);
  return c.body(extra ? `${view.slice(0, -1)},${JSON.stringify(extra).slice(1)}` : view);
}

const cartOf = (c: AppContext, cartKey: string) => c.env.CARTS.getByName(cartKey);

/** How long a read waits for its cart actor before answering from the Redis snapshot. */
export const CART_READ_DEADLINE_MS = 1_000;

/**
 * Reads ask the cart actor, which answers from memory with the whole
 * rendered cart: one round trip, always the current version. When the actor
 * does not answer within the deadline (overloaded, restarting) the Redis
 * snapshot answers instead, unless it is older than the version the client
 * last saw (X-Cart-Version); with neither, 503 and Retry-After.
 */
async function readCart(c: AppContext, cartKey: string): Promise<{ view: string; version: number }> {
  const seen = versionHeader(c, "x-cart-version");
  const fromActor = cartOf(c, cartKey).readView();
  try {
    const view = await withTimeout(fromActor, CART_READ_DEADLINE_MS);
    return { view, version: versionOf(view) };
  } catch (err) {
    fromActor.catch(() => undefined);
    const snapshot = await readCartSnapshot(c.env, cartKey);
    if (snapshot && (seen === null || snapshot.version >= seen)) {
      console.warn(
        `cart ${cartKey}: actor did not answer (${err instanceof Error ? err.message : err}); served the Redis snapshot v${snapshot.version}`,
      );
      return { view: JSON.stringify(await renderCart(c.env, snapshot)), version: snapshot.version };
    }
    throw new DomainError("DEPENDENCY_UNAVAILABLE", "the cart is busy; retry shortly", undefined, {
      "retry-after": "1",
    });
  }
}

/** The version field of a rendered cart (the actor's JSON always starts with cartId, then version). */
function versionOf(view: string): number {
  const match = /"version":(\d+)/.exec(view);
  return match ? Number(match[1]) : (JSON.parse(view) as { version: number }).version;
}

type CartStub = ReturnType<Env["CARTS"]["getByName"]>;
type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

/**
 * A cart edit: the cart's own credentials, an optional If-Match, the actor
 * call, and the whole cart (with its version as the ETag) as the answer. The
 * edit routes differ only in their path, input and the call they make.
 */
function cartEdit<B extends z.ZodType | undefined = undefined, P extends z.ZodObject | undefined = undefined>(
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
      access: "cart",
      headers: readHeaders,
      ok: { status: 200, description: "The cart", schema: CartViewSchema },
    },
    async (c, { identity }) => {
      const { view, version } = await readCart(c, identity.cartKey);
      return cartResponse(c, version, view);
    },
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
    async (c, { identity }) => {
      versionHeader(c, "x-cart-version");
      return c.json(
        await withTimeout(cartOf(c, identity.cartKey).count(), CART_READ_DEADLINE_MS).catch((err: unknown) => {
          console.warn(`cart ${identity.cartKey}: count not answered`, err instanceof Error ? err.message : err);
          throw new DomainError("DEPENDENCY_UNAVAILABLE", "the cart is busy; retry shortly", undefined, {
            "retry-after": "1",
          });
        }),
      );
    },
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
