/**
 * The live cart routes: a ticket, and a WebSocket to the cart actor, authenticated by the
 * cart's headers or by a one-time ticket (browsers cannot set headers).
 */
import { DomainError } from "../domain/errors";
import { issueTicket, readTicket, resolveIdentity } from "./identity";
import type { App, AppContext } from "./route";
import { route } from "./route";
import { LiveQuery, TicketSchema } from "./validation/cart";

const cartOf = (c: AppContext, cartKey: string) => c.env.CARTS.getByName(cartKey);

export function liveCartRoutes(app: App, tag: string): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/cart/live/ticket",
      tag,
      summary: "A one-time ticket for opening the live WebSocket from a browser",
      description:
        "Browsers cannot set headers on a WebSocket: get a ticket with the usual cart credentials, then connect to /v1/cart/live?ticket=... within 60 s. Each ticket works once.",
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
        'Upgrade to a WebSocket. Authenticate with the cart headers (non-browser clients) or `?ticket=` from POST /v1/cart/live/ticket. Messages: `{type:"cart", cart}` on connect and after each change; send `ping` for `pong`, `refresh` for the current cart.',
      access: "none",
      query: LiveQuery,
      ok: { status: 101, description: "Switching protocols" },
      problems: ["UNAUTHORIZED"],
    },
    async (c, { query }) => {
      let cartKey: string;
      if (query.ticket !== undefined) {
        const claims = await readTicket(c.env, query.ticket);
        if (!(await cartOf(c, claims.cartKey).useTicket(claims.nonce, claims.exp)))
          throw new DomainError("UNAUTHORIZED", "this live ticket was already used");
        cartKey = claims.cartKey;
      } else {
        cartKey = (await resolveIdentity(c, "cart")).cartKey;
      }
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new DomainError("UPGRADE_REQUIRED", "connect with a WebSocket (Upgrade: websocket)", undefined, {
          upgrade: "websocket",
        });
      }
      return cartOf(c, cartKey).fetch(c.req.raw);
    },
  );
}
