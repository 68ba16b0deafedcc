// Keep-alive connections survive a refused request: a body the route never read is read
// before the response leaves.

/** Bodies up to this size are read and dropped; a larger unread one closes its connection. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * workerd closes an HTTP/1.1 connection whose request body was not read by the
 * time the response is sent, and the client's next request on that socket
 * fails (ECONNRESET, "socket hang up"). Load shedding (503), rate limits
 * (429), authentication (401) and validation of the path (400) all answer
 * before the body is read; under load that turned most refusals into broken
 * connections. The edge step (edge.ts) calls this once the answer is ready:
 * what is left of a small body is read, so the connection stays usable.
 */
export async function drainUnreadBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  const length = request.headers.get("content-length");
  if (length !== null) {
    const declared = Number(length);
    if (declared > 0 && declared <= DRAIN_LIMIT_BYTES) await request.arrayBuffer().catch(() => undefined);
    return;
  }
  // A chunked body (no Content-Length): read it up to the limit; a longer one closes the connection.
  const reader = request.body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > DRAIN_LIMIT_BYTES) return void (await reader.cancel());
    }
  } catch {
    // the client went away: nothing to keep
  }
}
