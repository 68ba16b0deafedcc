import type { CartState } from "../../domain/cart";
import type { CartAlertType } from "../../events/envelope";

/** What the alert concern needs from the cart actor (a narrow host, see CONVENTIONS). */
export interface CartAlertHost {
  wasApplied(key: string): boolean;
  markApplied(key: string): void;
  sockets(): WebSocket[];
  /** The cart rendered now, with the current SKU views (price markers, stock flags). */
  render(): Promise<string>;
}

/**
 * A SKU this cart may hold changed (src/alerts/fanout.ts). Accepted once per (SKU, version,
 * kind): the open devices get the cart again at once (its lines carry the new price marker
 * or stock flag; the cart's own version does not move, nothing in it changed). Returns
 * whether the alert is new and the cart still holds the SKU: only then is an event sent.
 */
export async function acceptSkuAlert(
  host: CartAlertHost,
  state: CartState,
  skuId: string,
  skuVersion: number,
  type: CartAlertType,
): Promise<boolean> {
  if (!state.lines.some((l) => l.skuId === skuId)) return false;
  const key = `alert:${skuId}:${skuVersion}:${type}`;
  if (host.wasApplied(key)) return false;
  host.markApplied(key);
  const sockets = host.sockets();
  if (sockets.length > 0) {
    const message = `{"type":"cart","alert":${JSON.stringify({ type, skuId })},"cart":${await host.render()}}`;
    for (const ws of sockets) {
      try {
        ws.send(message);
      } catch {
        // a socket closing right now
      }
    }
  }
  return true;
}
