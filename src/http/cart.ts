import { z } from "zod";
import { readCartSnapshot } from "../cache/cart-snapshots";
import { renderCart } from "../cache/sku-views";
import type { CartEditOutcome } from "../actors/cart-actor";
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
    const view = await withDeadline(fromActor, CART_READ_DEADLINE_MS);
    return { view, version: versionOf(view) };
  } catch (err) {
    fromActor.catch(() => undefined);
    const snapshot = await readCartSnapshot(c.env, cartKey);
    if (snapshot && (seen === null || snapshot.version >= seen)) {
      console.warn(`cart ${cartKey}: actor did not answer (${err instanceof Error ? err.message : err}); served the Redis snapshot v${snapshot.version}`);
      return { view: JSON.stringify(await renderCart(c.env, snapshot)), version: snapshot.version };
    }
    throw new DomainError("DEPENDENCY_UNAVAILABLE", "the cart is busy; retry shortly", undefined, { "retry-after": "1" });
  }
}

/** The version field of a rendered cart (the actor's JSON always starts with cartId, then version). */
function versionOf(view: string): number {
  const match = /"version":(\d+)/.exec(view);
  return match ? Number(match[1]) : (JSON.parse(view) as { version: number }).version;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => timer !== null && clearTimeout(timer));
}

function edited(c: AppContext, outcome: CartEditOutcome): Response {
  const { cart, view } = unwrap(outcome);
  return cartResponse(c, cart.version, view);
}

export function cartRoutes(app: App): void {
  const tag = "Cart";
  const readHeaders = [{ name: "X-Cart-Version", required: false, description: "the newest cart version this client has seen; an older snapshot is skipped" }];

  route(
    app,
    { method: "get", path: "/v1/cart", tag, summary: "The cart with price markers and totals", access: "cart", headers: readHeaders, ok: { status: 200, description: "The cart", schema: CartViewSchema } },
    async (c, { identity }) => {
      const { view, version } = await readCart(c, identity.cartKey);
      return cartResponse(c, version, view);
    },
  );

  route(
    app,
    { method: "get", path: "/v1/cart/count", tag, summary: "Line and unit counts (for a cart badge)", access: "cart", headers: readHeaders, ok: { status: 200, description: "Counts", schema: CartCountSchema } },
    async (c, { identity }) => {
      versionHeader(c, "x-cart-version");
      return c.json(await withDeadline(cartOf(c, identity.cartKey).count(), CART_READ_DEADLINE_MS).catch((err: unknown) => {
        console.warn(`cart ${identity.cartKey}: count not answered`, err instanceof Error ? err.message : err);
        throw new DomainError("DEPENDENCY_UNAVAILABLE", "the cart is busy; retry shortly", undefined, { "retry-after": "1" });
      }));
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
      problems: ["SKU_UNAVAILABLE", "SALE_NOT_STARTED", "OUT_OF_STOCK", "LIMIT_EXCEEDED", "CART_TOO_LARGE", "CURRENCY_MISMATCH", "VERSION_CONFLICT"],
    },
    async (c, { identity, body }) => {
      return edited(c, await cartOf(c, identity.cartKey).addItem(body.skuId, body.quantity, ifMatch(c)));
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
      problems: ["NOT_FOUND", "SKU_UNAVAILABLE", "SALE_NOT_STARTED", "OUT_OF_STOCK", "LIMIT_EXCEEDED", "VERSION_CONFLICT"],
    },
    async (c, { identity, params, body }) => {
      return edited(c, await cartOf(c, identity.cartKey).updateItem(params.skuId, body, ifMatch(c)));
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
      return edited(c, await cartOf(c, identity.cartKey).removeItems([params.skuId], ifMatch(c)));
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
      return edited(c, await cartOf(c, identity.cartKey).removeItems(body.skuIds, ifMatch(c)));
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
      return edited(c, await cartOf(c, identity.cartKey).select(body, ifMatch(c)));
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
      return edited(c, await cartOf(c, identity.cartKey).clear(ifMatch(c)));
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
      return cartResponse(c, result.cart.version, result.view, { merge: result.merge });
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
