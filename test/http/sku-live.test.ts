import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

async function watch(skuId: string) {
  const res = await exports.default.fetch(
    new Request(`http://edge-cart.test/v1/skus/${skuId}/live`, { headers: { upgrade: "websocket" } }),
  );
  const socket = res.webSocket!;
  const messages: any[] = [];
  socket.accept();
  // A listener returns nothing: workerd warns about any value it returns (push's new length).
  socket.addEventListener("message", (e) => {
    messages.push(JSON.parse(e.data as string));
  });
  return { status: res.status, socket, messages };
}

const until = async (check: () => boolean) => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("nothing arrived within 5 s");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("live stock of a SKU", () => {
  it("pushes each newer update to every watcher; an older one is dropped; the last one greets a new watcher", async () => {
    const skuId = `watch-${crypto.randomUUID().slice(0, 8)}`;
    const a = await watch(skuId);
    expect(a.status).toBe(101);
    const update = {
      skuId,
      available: 5,
      status: "active",
      price: 1000,
      currency: "USD",
      saleStartsAt: null,
      at: 2000,
    };
    expect(await env.SKU_WATCH.getByName(skuId).publish(update)).toBe(1);
    await until(() => a.messages.length === 1);
    expect(a.messages[0]).toEqual({ type: "stock", ...update });
    expect(await env.SKU_WATCH.getByName(skuId).publish({ ...update, available: 9, at: 1000 })).toBe(0);
    const b = await watch(skuId);
    await until(() => b.messages.length === 1);
    expect(b.messages[0].available).toBe(5);
    a.socket.close(1000);
    b.socket.close(1000);
  });

  it("answers 426 without a WebSocket upgrade", async () => {
    const res = await exports.default.fetch(new Request("http://edge-cart.test/v1/skus/x/live"));
    expect(res.status).toBe(426);
  });
});
