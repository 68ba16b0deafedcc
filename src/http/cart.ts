import { z } from "zod";
import { readCartSnapshot } from "../cache/cart-snapshots";
import { renderCart } from "../cache/sku-views";
import type { CartState } from "../domain/cart";
import { DomainError, unwrap } from "../domain/errors";
import { issueTicket, readTicket, resolveIdentity } from "./identity";
import type { App, AppContext } from "./route";
import { issuesOf, route } from "./route";
import {
  AddItemBody,
  BatchDeleteBody,
  CartCountSchema,
  CartViewSchema,
  LiveQuery,
  MergeBody,
  MergeResultSchema,
  SelectBody,
  SkuParams,
  TicketSchema,
  UpdateItemBody,
} from "./schemas";

const Version = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A version header: `5`, `"5"` or `W/"5"` (If-Match carries the cart version as an ETag). */
function versionHeader(c: AppContext, name: string): number | null {
  const raw = c.req.header(name);
  if (raw === undefined) return null;
  const parsed = Version.safeParse(raw.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1"));
  if (!parsed.success) throw new DomainError("VALIDATION_FAILED", `${name} must be a cart version number`, issuesOf(parsed.error, `header.${name}`));
  return parsed.data;
}

const ifMatch = (c: AppContext) => versionHeader(c, "if-match");

const IF_MATCH_HEADER = { name: "If-Match", required: false, description: "the cart version the client last saw; a stale one is 412 VERSION_CONFLICT" };

async function cartResponse(c: AppContext, state: CartState, extra: Record<string, unknown> = {}): Promise<Response> {
  const view = await renderCart(c.env, state);
  c.header("etag", `"${state.version}"`);
  return c.json({ ...view, ...extra });
}

const cartOf = (c: AppContext, cartKey: string) => c.env.CARTS.getByName(cartKey);

/**
 * Reads try the Redis snapshot first and fall back to the actor when it is
 * missing, older than the version the client last saw (X-Cart-Version), or
 * Redis is down or slow.
 */
async function currentCart(c: AppContext, cartKey: string): Promise<CartState> {
  const seen = versionHeader(c, "x-cart-version");
  const snapshot = await readCartSnapshot(c.env, cartKey);
  if (snapshot && (seen === null || snapshot.version >= seen)) return snapshot;
  return cartOf(c, cartKey).read();
}

export function cartRoutes(app: App): void {
  const tag = "Cart";
  const readHeaders = [{ name: "X-Cart-Version", required: false, description: "the newest cart version this client has seen; an older snapshot is skipped" }];

  route(
    app,
    { method: "get", path: "/v1/cart", tag, summary: "The cart with price markers and totals", access: "cart", headers: readHeaders, ok: { status: 200, description: "The cart", schema: CartViewSchema } },
    async (c, { identity }) => cartResponse(c, await currentCart(c, identity.cartKey)),
  );

  route(
    app,
    { method: "get", path: "/v1/cart/count", tag, summary: "Line and unit counts (for a cart badge)", access: "cart", headers: readHeaders, ok: { status: 200, description: "Counts", schema: CartCountSchema } },
    async (c, { identity }) => {
      const state = await currentCart(c, identity.cartKey);
      return c.json({ totalQuantity: state.lines.reduce((n, l) => n + l.quantity, 0), totalItems: state.lines.length });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/cart/items",
      tag,
      summary: "Add a SKU (an existing line's quantity is summed)",
      access: "cart",
      rateLimited: true,
      headers: [IF_MATCH_HEADER],
      body: AddItemBody,
      ok: { status: 200, description: "The whole cart", schema: CartViewSchema },
      problems: ["SKU_UNAVAILABLE", "OUT_OF_STOCK", "LIMIT_EXCEEDED", "CART_TOO_LARGE", "CURRENCY_MISMATCH", "VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).addItem(body.skuId, body.quantity, ifMatch(c)));
      return cartResponse(c, cart);
    },
  );

  route(
    app,
    {
      method: "patch",
      path: "/v1/cart/items/{skuId}",
      tag,
      summary: "Change a line's quantity (0 removes it) or selection",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      params: SkuParams,
      body: UpdateItemBody,
      ok: { status: 200, description: "The whole cart", schema: CartViewSchema },
      problems: ["NOT_FOUND", "SKU_UNAVAILABLE", "OUT_OF_STOCK", "LIMIT_EXCEEDED", "VERSION_CONFLICT"],
    },
    async (c, { identity, params, body }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).updateItem(params.skuId, body, ifMatch(c)));
      return cartResponse(c, cart);
    },
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/cart/items/{skuId}",
      tag,
      summary: "Remove one line (idempotent)",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      params: SkuParams,
      ok: { status: 200, description: "The whole cart", schema: CartViewSchema },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity, params }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).removeItems([params.skuId], ifMatch(c)));
      return cartResponse(c, cart);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/cart/items/batch-delete",
      tag,
      summary: "Remove several lines",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      body: BatchDeleteBody,
      ok: { status: 200, description: "The whole cart", schema: CartViewSchema },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).removeItems(body.skuIds, ifMatch(c)));
      return cartResponse(c, cart);
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/cart/select",
      tag,
      summary: "Select or unselect lines: by SKUs, by merchant, or all",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      body: SelectBody,
      ok: { status: 200, description: "The whole cart", schema: CartViewSchema },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).select(body, ifMatch(c)));
      return cartResponse(c, cart);
    },
  );

  route(
    app,
    {
      method: "delete",
      path: "/v1/cart",
      tag,
      summary: "Clear the cart",
      access: "cart",
      headers: [IF_MATCH_HEADER],
      ok: { status: 200, description: "The (empty) cart", schema: CartViewSchema },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity }) => {
      const { cart } = unwrap(await cartOf(c, identity.cartKey).clear(ifMatch(c)));
      return cartResponse(c, cart);
    },
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
      ok: { status: 200, description: "The user's cart and what the merge did (`merge` is null when there was nothing to merge)", schema: MergeResultSchema },
      problems: ["VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      const result = unwrap(await cartOf(c, identity.cartKey).merge(`guest:${body.clientCartId.toLowerCase()}`, body.strategy, ifMatch(c)));
      return cartResponse(c, result.cart, { merge: result.merge });
    },
  );

  route(
    app,
    {
      method: "post",
      path: "/v1/cart/live/ticket",
      tag,
      summary: "A one-time ticket for opening the live WebSocket from a browser",
      description: "Browsers cannot set headers on a WebSocket: get a ticket with the usual cart credentials, then connect to /v1/cart/live?ticket=... within 60 s. Each ticket works once.",
      access: "cart",
      ok: { status: 200, description: "The ticket", schema: TicketSchema },
    },
    async (c, { identity }) => c.json(await issueTicket(c.env, identity.cartKey)),
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/cart/live",
      tag,
      summary: "Live cart (WebSocket): every device of the cart receives the new cart on each change",
      description:
        "Upgrade to a WebSocket. Authenticate with the cart headers (non-browser clients) or `?ticket=` from POST /v1/cart/live/ticket. Messages: `{type:\"cart\", cart}` on connect and after each change; send `ping` for `pong`, `refresh` for the current cart.",
      access: "none",
      query: LiveQuery,
      ok: { status: 101, description: "Switching protocols" },
      problems: ["UNAUTHORIZED"],
    },
    async (c, { query }) => {
      let cartKey: string;
      if (query.ticket !== undefined) {
        const claims = await readTicket(c.env, query.ticket);
        if (!(await cartOf(c, claims.cartKey).useTicket(claims.nonce, claims.exp))) throw new DomainError("UNAUTHORIZED", "this live ticket was already used");
        cartKey = claims.cartKey;
      } else {
        cartKey = (await resolveIdentity(c, "cart")).cartKey;
      }
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new DomainError("UPGRADE_REQUIRED", "connect with a WebSocket (Upgrade: websocket)", undefined, { upgrade: "websocket" });
      }
      return cartOf(c, cartKey).fetch(c.req.raw);
    },
  );
}
