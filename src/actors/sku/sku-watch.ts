import { DurableObject } from "cloudflare:workers";

/** What a flash-sale page shows live: units left, and what a merchant may change meanwhile. */
export interface StockUpdate {
  skuId: string;
  available: number;
  status: string;
  price: number;
  currency: string;
  saleStartsAt: string | null;
  /** When the consumer read it (ms); an older update never replaces a newer one. */
  at: number;
}

/**
 * The push channel for a SKU's stock (`GET /v1/skus/{skuId}/live`): one tiny actor per SKU
 * holding hibernated WebSockets of the pages watching it. It is fed by the queue consumer
 * (src/alerts/plan.ts), which sees every movement anyway, at most once per SKU per consumed
 * batch, so a flash sale's thousands of buys become a handful of pushes per second, and the
 * SKU actor (the hot path) does no extra work at all.
 */
export class SkuWatch extends DurableObject<Env> {
  /** Stores the update if it is the newest and sends it to every watcher; returns how many. */
  async publish(update: StockUpdate): Promise<number> {
    const last = await this.ctx.storage.get<StockUpdate>("last");
    if (last && last.at > update.at) return 0;
    await this.ctx.storage.put("last", update);
    const message = JSON.stringify({ type: "stock", ...update });
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      try {
        ws.send(message);
      } catch {
        // a socket closing right now
      }
    }
    return sockets.length;
  }

  override async fetch(): Promise<Response> {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const last = await this.ctx.storage.get<StockUpdate>("last");
    if (last) server.send(JSON.stringify({ type: "stock", ...last }));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "ping") ws.send("pong");
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    ws.close(code === 1005 ? 1000 : code, reason);
  }
}
