/**
 * The one step every request takes before its route: one wait for the
 * runtime's I/O poll (docs/decisions.md 14), a request id, CORS for an allowed
 * browser origin, load shedding, and, once the answer is ready, the unread
 * body drained so the connection stays usable, and one log line for the
 * request (its id, route, status, outcome and duration). One middleware instead of four
 * hops, and each header read once: a flash burst or a cart read pays this on
 * every request (docs/decisions.md 13).
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import { shedLoad } from "./admission";
import type { AppEnv } from "./context";
import { allowedOrigin, corsHeaders } from "./cors";
import { drainUnreadBody } from "./drain";
import type { LogContext } from "../log/context";
import { withLogContext } from "../log/context";
import { log } from "../log/logger";

/** An incoming X-Request-Id is kept when it looks like one (as hono/request-id does), else one is made. */
const INCOMING_ID = /^[\w\-=]{1,255}$/;

let idPrefix = "";
let idSeq = 0;

/** Unique per isolate (a random prefix drawn on the first request) and cheap: a counter, not a UUID per request. */
function newRequestId(): string {
  if (idPrefix === "") {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    idPrefix = `${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}-`;
  }
  idSeq += 1;
  return idPrefix + idSeq.toString(36);
}

/**
 * Every request first waits for one turn of the runtime's I/O poll. workerd's
 * event loop looks for new I/O (new connections, requests on idle keep-alive
 * connections) only when it has no other work queued. Saturated by a few
 * busy keep-alive connections, whose next request is already there when the
 * previous answer leaves, it never ran dry: new connections and parked ones
 * waited 7-16 s (a fresh /healthz 15.7 s; strace: no epoll_wait in 3 s while
 * 44 sockets held unread requests). A zero timer fires only after such a
 * poll, so each request lets every waiting socket in: same throughput, cart
 * mix p99 6-8 s -> 0.5 s, fresh /healthz 15.7 s -> 1.6 s (docs/decisions.md 14).
 */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function edge(): MiddlewareHandler<AppEnv> {
  const admit = shedLoad();
  return async (c, next) => {
    const started = Date.now();
    await yieldToIo();
    const headers = c.req.raw.headers;
    const incoming = headers.get("x-request-id");
    const id = incoming !== null && INCOMING_ID.test(incoming) ? incoming : newRequestId();
    c.set("requestId", id);
    c.header("x-request-id", id);
    // Every line logged and every event written while this request is served carries its id.
    const context: LogContext = { requestId: id };
    return withLogContext(context, () => serve(c, next, admit, context, started));
  };
}

async function serve(
  c: Context<AppEnv>,
  next: Next,
  admit: ReturnType<typeof shedLoad>,
  context: LogContext,
  started: number,
): Promise<Response | undefined> {
  const headers = c.req.raw.headers;
  const admitted = async () => {
    const refused = await admit(c, next);
    if (refused instanceof Response) c.res = refused;
  };
  const origin = headers.get("origin");
  // An allowed origin's preflight is answered here; other requests get the CORS headers on their answer.
  const preflight =
    origin !== null && allowedOrigin(origin, c.env) !== null ? await corsHeaders(c, admitted) : await admitted();
  await drainUnreadBody(c.req.raw);
  const status = (preflight ?? c.res).status;
  // The path only: a query string may carry a token (the live pages' sockets).
  const fields = {
    method: c.req.method,
    path: c.req.path,
    status,
    outcome: context.outcome ?? (status < 400 ? "ok" : String(status)),
    durationMs: Date.now() - started,
  };
  // A shed request is the service working as designed (counted in the metrics): one warn line per
  // shed would add a write to every refusal of a flood.
  if (status >= 500 && fields.outcome !== "OVERLOADED") log.warn("request", fields);
  else log.info("request", fields);
  return preflight ?? undefined;
}
