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
  /** A fresh SKU's stock update (at 2000, 5 available), published to its watchers. */
  async function publishUpdate(skuId: string) {
    const update = {
      skuId,
      available: 5,
      status: "active",
      price: 1000,
      currency: "USD",
      saleStartsAt: null,
      at: 2000,
    };
    const reached = await env.SKU_WATCH.getByName(skuId).publish(update);
    return { update, reached };
  }

  /** A new watcher's first message: the last update it is greeted with. */
  async function greeting(skuId: string) {
    const b = await watch(skuId);
    await until(() => b.messages.length === 1);
    b.socket.close(1000);
    return b.messages[0];
  }

  it("pushes a newer update to every watcher", async () => {
    const skuId = `watch-${crypto.randomUUID().slice(0, 8)}`;
    const a = await watch(skuId);
    expect(a.status).toBe(101);
    const { update, reached } = await publishUpdate(skuId);
    expect(reached).toBe(1);
    await until(() => a.messages.length === 1);
    expect(a.messages[0]).toEqual({ type: "stock", ...update });
    a.socket.close(1000);
  });

  it("drops an update older than the last one", async () => {
    const skuId = `watch-${crypto.randomUUID().slice(0, 8)}`;
    const a = await watch(skuId);
    const { update } = await publishUpdate(skuId);
    await until(() => a.messages.length === 1);
    expect(await env.SKU_WATCH.getByName(skuId).publish({ ...update, available: 9, at: 1000 })).toBe(0);
    expect((await greeting(skuId)).available).toBe(5);
    a.socket.close(1000);
  });

  it("greets a new watcher with the last update", async () => {
    const skuId = `watch-${crypto.randomUUID().slice(0, 8)}`;
    const { update } = await publishUpdate(skuId);
    expect(await greeting(skuId)).toEqual({ type: "stock", ...update });
  });

  it("answers 426 without a WebSocket upgrade", async () => {
    const res = await exports.default.fetch(new Request("http://edge-cart.test/v1/skus/x/live"));
    expect(res.status).toBe(426);
  });
});
