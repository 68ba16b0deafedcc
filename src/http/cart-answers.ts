/**
 * How the cart routes answer: version headers (If-Match, X-Cart-Version), the
 * read that falls back to the Redis snapshot when the actor fails, and the
 * rendered cart sent as it is with its version as the ETag.
 */
import { z } from "zod";
import { readCartSnapshot } from "../cache/cart-snapshots";
import { renderCart } from "../cache/sku-views";
import { DomainError } from "../domain/errors";
import type { AppContext } from "./route";
import { issuesOf } from "./route";
import { log } from "../log/logger";
import { errorText } from "../log/redact";

const Version = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A version header: `5`, `"5"` or `W/"5"` (If-Match carries the cart version as an ETag). */
export function versionHeader(c: AppContext, name: string): number | null {
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

export const ifMatch = (c: AppContext) => versionHeader(c, "if-match");

export const IF_MATCH_HEADER = {
  name: "If-Match",
  required: false,
  description: "the cart version the client last saw; a stale one is 412 VERSION_CONFLICT",
};

/** The cart as the actor rendered it (JSON of a CartView), with its version as the ETag. */
export function cartResponse(c: AppContext, version: number, view: string, extra?: Record<string, unknown>): Response {
  c.header("content-type", "application/json");
  cartCaching(c, version);
  return c.body(extra ? `${view.slice(0, -1)},${JSON.stringify(extra).slice(1)}` : view);
}

/**
 * A cart answer's version as its ETag, and never a shared or silent cache: the cart is one
 * identity's (Vary), and a browser revalidates every read with it (no-cache), so it is never
 * handed another identity's cart or an old one.
 */
function cartCaching(c: AppContext, version: number): void {
  c.header("etag", `"${version}"`);
  c.header("cache-control", "private, no-cache");
  c.header("vary", "Authorization, X-Cart-Id");
}

export const cartOf = (c: AppContext, cartKey: string) => c.env.CARTS.getByName(cartKey);

/**
 * A client that says what it has seen (`X-Cart-Version`, or `If-None-Match`
 * with the ETag of its last answer) is answered from the cart's snapshot in
 * Redis whenever that snapshot is at least as new: on Cloudflare, Upstash's
 * read regions keep that copy near every client while the cart's actor lives
 * in one place (docs/API.md, Cart reads). An `If-None-Match` naming the
 * snapshot's version is a 304. A snapshot that is missing or older than what
 * the client saw, or Redis down, and a client that says nothing, ask the actor.
 */
export async function readCartAtEdge(c: AppContext, cartKey: string): Promise<Response> {
  const seen = versionHeader(c, "x-cart-version") ?? ifNoneMatch(c);
  if (seen !== null) {
    const snapshot = await readCartSnapshot(c.env, cartKey);
    if (snapshot && snapshot.version >= seen) {
      c.header("x-cart-source", "snapshot");
      if (ifNoneMatch(c) === snapshot.version) {
        cartCaching(c, snapshot.version);
        return c.body(null, 304);
      }
      const view = await renderCart(c.env, snapshot).catch(() => null);
      if (view) return cartResponse(c, snapshot.version, JSON.stringify(view));
    }
  }
  const { view, version } = await readCart(c, cartKey, seen);
  if (ifNoneMatch(c) === version) {
    cartCaching(c, version);
    return c.body(null, 304);
  }
  return cartResponse(c, version, view);
}

/** The version an `If-None-Match` names (the ETag this API gave: `"5"`, or `W/"5"`), or null. */
function ifNoneMatch(c: AppContext): number | null {
  const raw = c.req.header("if-none-match");
  if (raw === undefined || raw.trim() === "*") return null;
  return versionHeader(c, "if-none-match");
}

/**
 * Reads ask the cart actor, which answers from memory with the whole
 * rendered cart: one round trip, always the current version, and no timer of
 * its own (a per-read timer was about a twelfth of a read's cost; overload is
 * shed at the edge, docs/decisions.md 13). When the actor call fails
 * (overloaded, reset, restarting) the Redis snapshot answers instead, unless
 * it is older than the version the client last saw (X-Cart-Version); with
 * neither, 503 and Retry-After.
 */
export async function readCart(
  c: AppContext,
  cartKey: string,
  seen: number | null = versionHeader(c, "x-cart-version"),
): Promise<{ view: string; version: number }> {
  try {
    const { json, version } = await cartOf(c, cartKey).readView();
    return { view: json, version };
  } catch (err) {
    const snapshot = await readCartSnapshot(c.env, cartKey);
    if (snapshot && (seen === null || snapshot.version >= seen)) {
      const view = await renderCart(c.env, snapshot).catch(() => null);
      if (view) {
        log.warn("cart actor did not answer; served the Redis snapshot", {
          actor: `cart:${cartKey}`,
          version: snapshot.version,
          error: errorText(err),
        });
        return { view: JSON.stringify(view), version: snapshot.version };
      }
    }
    throw cartBusy();
  }
}

/** `GET /v1/cart/count`: the actor's counts (no snapshot fallback). */
export async function countCart(
  c: AppContext,
  cartKey: string,
): Promise<{ totalQuantity: number; totalItems: number }> {
  versionHeader(c, "x-cart-version");
  return cartOf(c, cartKey)
    .count()
    .catch((err: unknown) => {
      log.warn("cart count not answered", { actor: `cart:${cartKey}`, error: errorText(err) });
      throw cartBusy();
    });
}

function cartBusy(): DomainError {
  return new DomainError("DEPENDENCY_UNAVAILABLE", "the cart is busy; retry shortly", undefined, {
    "retry-after": "1",
  });
}
