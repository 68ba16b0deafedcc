/**
 * Who is calling: user JWTs (user-tokens.ts), guest cart ids, admin tokens
 * and one-time live tickets.
 */
import type { AppContext } from "./context";
import { DomainError } from "../domain/errors";
import { constantTimeEqual, hmacSha256Hex } from "./signing";
import { USER_ID, verifyUserToken } from "./user-tokens";

/** Who is calling: a logged-in user or a guest cart. `cartKey` names their cart actor and owns their orders. */
export type Identity =
  | { kind: "user"; userId: string; cartKey: string }
  | { kind: "guest"; clientCartId: string; cartKey: string };

/** Shared with the request schemas (validation/), so admin cart keys follow the same rules. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export { USER_ID };

function bearer(c: AppContext): string | null {
  const header = c.req.header("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new DomainError("UNAUTHORIZED", "the Authorization header must be `Bearer <token>`");
  return match[1]!;
}

/**
 * A valid JWT acts on the user's cart; otherwise `X-Cart-Id` (a UUID) acts
 * on that guest cart; neither is 401. A bad JWT is 401 even with a cart id:
 * a broken login must not silently fall back to a guest cart.
 */
export async function resolveIdentity(c: AppContext, need: "cart" | "user"): Promise<Identity> {
  const token = bearer(c);
  if (token) {
    const userId = await verifyUserToken(c.env, token);
    return { kind: "user", userId, cartKey: `user:${userId}` };
  }
  if (need === "user")
    throw new DomainError("UNAUTHORIZED", "this operation needs a logged-in user (Authorization: Bearer <JWT>)");
  const cartId = c.req.header("x-cart-id");
  if (cartId === undefined)
    throw new DomainError("UNAUTHORIZED", "send Authorization: Bearer <JWT> or X-Cart-Id: <guest cart UUID>");
  if (!UUID.test(cartId)) {
    throw new DomainError("VALIDATION_FAILED", "X-Cart-Id must be a UUID", [
      { code: "invalid_format", path: "header.X-Cart-Id", message: "expected a UUID" },
    ]);
  }
  const clientCartId = cartId.toLowerCase();
  return { kind: "guest", clientCartId, cartKey: `guest:${clientCartId}` };
}

/**
 * Admin endpoints: Bearer ADMIN_TOKEN, compared in constant time; refused outright while ADMIN_TOKEN is
 * unset. No credential is 401; a credential that is not the admin token (a user's JWT included) is 403.
 */
export async function requireAdmin(c: AppContext): Promise<void> {
  if (!c.env.ADMIN_TOKEN) throw new DomainError("FORBIDDEN", "the admin API is disabled until ADMIN_TOKEN is set");
  const token = bearer(c);
  if (!token) throw new DomainError("UNAUTHORIZED", "admin endpoints need Authorization: Bearer <ADMIN_TOKEN>");
  if (!(await constantTimeEqual(token, c.env.ADMIN_TOKEN)))
    throw new DomainError("FORBIDDEN", "this credential is not the admin token");
}

// ---- one-time tickets for browser WebSockets ------------------------------------------

export const TICKET_TTL_MS = 60_000;

interface TicketClaims {
  cartKey: string;
  exp: number;
  nonce: string;
}

function ticketKey(env: Env): string {
  if (!env.JWT_SECRET) throw new DomainError("FORBIDDEN", "live tickets are disabled until JWT_SECRET is set");
  return `live-ticket:${env.JWT_SECRET}`;
}

/** A signed, short-lived ticket naming one cart; the cart actor accepts each nonce once. */
export async function issueTicket(env: Env, cartKey: string): Promise<{ ticket: string; expiresAt: string }> {
  const claims: TicketClaims = { cartKey, exp: Date.now() + TICKET_TTL_MS, nonce: crypto.randomUUID() };
  const body = btoa(JSON.stringify(claims)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return {
    ticket: `${body}.${await hmacSha256Hex(ticketKey(env), body)}`,
    expiresAt: new Date(claims.exp).toISOString(),
  };
}

export async function readTicket(env: Env, ticket: string): Promise<TicketClaims> {
  const [body, signature, extra] = ticket.split(".");
  const invalid = new DomainError("UNAUTHORIZED", "the live ticket is not valid or has expired");
  if (!body || !signature || extra !== undefined || body.length > 1024) throw invalid;
  if (!(await constantTimeEqual(signature, await hmacSha256Hex(ticketKey(env), body)))) throw invalid;
  let claims: TicketClaims;
  try {
    claims = JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/"))) as TicketClaims;
  } catch {
    throw invalid;
  }
  if (
    typeof claims.exp !== "number" ||
    claims.exp < Date.now() ||
    typeof claims.cartKey !== "string" ||
    typeof claims.nonce !== "string"
  )
    throw invalid;
  return claims;
}
