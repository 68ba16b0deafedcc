/**
 * What the cart's modules (lines, merge, orders, live, sync) see of the cart
 * actor: the shared actor host plus the cart's own key and the few runtime
 * hooks a cart needs (its start-up gate, background work, WebSockets).
 */
import type { ActorHost } from "../actor";

export interface CartHost extends ActorHost {
  /** `user:{id}` or `guest:{clientCartId}`. */
  readonly cartKey: string;
  readonly isGuest: boolean;
  /** Runs work with the actor's input gate closed (start-up). */
  blockConcurrencyWhile<T>(work: () => Promise<T>): Promise<T>;
  /** Keeps background work alive after the answer. */
  waitUntil(work: Promise<unknown>): void;
  acceptWebSocket(ws: WebSocket): void;
  webSockets(): WebSocket[];
}
