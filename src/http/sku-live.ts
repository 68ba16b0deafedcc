import { DomainError } from "../domain/errors";
import type { App } from "./route";
import { route } from "./route";
import { SkuParams } from "./validation/fields";

/** Units left pushed to flash-sale pages (src/actors/sku/sku-watch.ts): public, like the SKU view. */
export function skuLiveRoutes(app: App): void {
  route(
    app,
    {
      method: "get",
      path: "/v1/skus/{skuId}/live",
      tag: "Catalog",
      summary: "Live stock of a SKU (WebSocket): units left, price, status and sale start, pushed as they change",
      description:
        'Upgrade to a WebSocket; no credentials (the same data as GET /v1/skus/{skuId}). Messages: `{type:"stock", skuId, available, status, price, currency, saleStartsAt, at}` on connect (the last known state, if any) and after each change the queue consumer sees (about a second behind the SKU actor). Send `ping` for `pong`.',
      access: "none",
      params: SkuParams,
      ok: { status: 101, description: "Switching protocols" },
      problems: ["UPGRADE_REQUIRED"],
    },
    async (c, { params }) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new DomainError("UPGRADE_REQUIRED", "connect with a WebSocket (Upgrade: websocket)", undefined, {
          upgrade: "websocket",
        });
      }
      return c.env.SKU_WATCH.getByName(params.skuId).fetch(c.req.raw);
    },
  );
}
