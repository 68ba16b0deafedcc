/**
 * Live sync: devices of the cart hold a hibernatable WebSocket and receive
 * the whole cart after every change; one-time tickets let browsers (which
 * cannot set headers on a WebSocket) connect.
 */
import { SingleFlight } from "../../single-flight";
import type { CartStore } from "./store";
import type { CartHost } from "./host";
import type { CartSkus } from "./skus";

export class CartLive {
  private readonly broadcaster: SingleFlight;
  private broadcastVersion = -1;

  constructor(
    private readonly host: CartHost,
    private readonly store: CartStore,
    private readonly skus: CartSkus,
  ) {
    host.schema.ensure("CREATE TABLE IF NOT EXISTS tickets (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    this.broadcaster = new SingleFlight(() => this.broadcast());
  }

  /** Marks a one-time live ticket used; false if it was used before. */
  useTicket(nonce: string, expiresAt: number): boolean {
    const sql = this.host.sql;
    return this.host.transact(() => {
      sql.exec("DELETE FROM tickets WHERE expires_at < ?", this.host.now());
      const used = sql.exec("SELECT 1 FROM tickets WHERE nonce = ?", nonce).toArray().length > 0;
      if (!used) sql.exec("INSERT INTO tickets (nonce, expires_at) VALUES (?, ?)", nonce, expiresAt);
      return !used;
    });
  }

  /** `GET /v1/cart/live` (already authenticated by the edge): a hibernatable WebSocket that starts with the cart. */
  async connect(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426 });
    const state = await this.store.loaded();
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.host.acceptWebSocket(server);
    server.send(`{"type":"cart","cart":${await this.skus.render(state)}}`);
    return new Response(null, { status: 101, webSocket: client });
  }

  async message(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "refresh") ws.send(`{"type":"cart","cart":${await this.skus.render(await this.store.loaded())}}`);
  }

  /** The cart changed: send it to every connected device (one send in flight, the newest version wins). */
  changed(): void {
    this.broadcaster.kick();
  }

  private async broadcast(): Promise<void> {
    const state = this.store.current;
    const sockets = this.host.webSockets();
    if (!state || sockets.length === 0 || state.version <= this.broadcastVersion) return;
    const message = `{"type":"cart","cart":${await this.skus.render(state)}}`;
    this.broadcastVersion = state.version;
    for (const ws of sockets) {
      try {
        ws.send(message);
      } catch {
        // a socket closing right now; it is dropped by the runtime
      }
    }
  }
}
