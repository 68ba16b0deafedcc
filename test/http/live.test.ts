import { env, exports } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, asGuest, asUser, putSku } from "../support/worker";

/** Opens the live cart socket through the Worker and collects the cart messages it receives. */
async function connect(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(
    new Request(`http://edge-cart.test${path}`, { headers: { upgrade: "websocket", ...headers } }),
  );
  if (!res.webSocket) return { status: res.status, messages: [] as any[], socket: null, next: async () => null as any };
  const socket = res.webSocket;
  const messages: any[] = [];
  const waiters: (() => void)[] = [];
  socket.accept();
  socket.addEventListener("message", (e) => {
    messages.push(typeof e.data === "string" && e.data.startsWith("{") ? JSON.parse(e.data) : e.data);
    waiters.splice(0).forEach((w) => w());
  });
  let read = 0;
  const next = async (): Promise<any> => {
    const deadline = Date.now() + 5_000;
    while (messages.length <= read) {
      if (Date.now() > deadline) throw new Error("no message within 5 s");
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return messages[read++];
  };
  return { status: res.status, messages, socket, next };
}

describe("live cart", () => {
  it("every device of the cart receives the new cart after each change", async () => {
    const sku = await putSku();
    const user = await asUser();
    const phone = await connect("/v1/cart/live", user.headers);
    const laptop = await connect("/v1/cart/live", user.headers);
    expect(phone.status).toBe(101);
    expect((await phone.next()).cart).toMatchObject({ cartId: user.cartKey, items: [] });
    await laptop.next();

    await api("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity: 2 } });
    const [a, b] = await Promise.all([phone.next(), laptop.next()]);
    for (const msg of [a, b])
      expect(msg).toMatchObject({
        type: "cart",
        cart: { version: 1, items: [{ skuId: sku, quantity: 2, currentPrice: 1000 }] },
      });

    await api(`/v1/cart/items/${sku}`, { method: "PATCH", headers: user.headers, body: { quantity: 5 } });
    expect((await phone.next()).cart.items[0].quantity).toBe(5);
    phone.socket!.send("ping");
    expect(await phone.next()).toBe("pong");
    phone.socket!.close(1000);
    laptop.socket!.close(1000);
  });

  it("keeps pushing after the cart actor hibernates (sockets survive eviction)", async () => {
    const sku = await putSku();
    const guest = asGuest();
    const device = await connect("/v1/cart/live", guest.headers);
    await device.next();
    await evictDurableObject(env.CARTS.getByName(guest.cartKey), { webSockets: "hibernate" });
    await api("/v1/cart/items", { headers: guest.headers, body: { skuId: sku, quantity: 3 } });
    expect((await device.next()).cart.items[0]).toMatchObject({ skuId: sku, quantity: 3 });
    device.socket!.close(1000);
  });

  /** A guest and a ticket issued to it, ready for a query string. */
  async function ticketed() {
    const guest = asGuest();
    const issued = await api("/v1/cart/live/ticket", { method: "POST", headers: guest.headers });
    expect(issued.status).toBe(200);
    return { guest, raw: issued.body.ticket as string, ticket: encodeURIComponent(issued.body.ticket) };
  }

  it("browsers connect with a one-time ticket", async () => {
    const { guest, ticket } = await ticketed();
    const first = await connect(`/v1/cart/live?ticket=${ticket}`);
    expect(first.status).toBe(101);
    expect((await first.next()).cart.cartId).toBe(guest.cartKey);
    first.socket!.close(1000);
  });

  it("refuses a used or forged ticket, no credential at all, and a request that is not an upgrade", async () => {
    const { guest, raw, ticket } = await ticketed();
    const first = await connect(`/v1/cart/live?ticket=${ticket}`);
    expect(first.status).toBe(101);
    await first.next();
    const reused = await connect(`/v1/cart/live?ticket=${ticket}`);
    expect(reused.status).toBe(401);
    const [body] = raw.split(".");
    const forged = await connect(`/v1/cart/live?ticket=${body}.${"0".repeat(64)}`);
    expect(forged.status).toBe(401);
    expect((await connect("/v1/cart/live")).status).toBe(401);
    const plain = await api("/v1/cart/live", { headers: guest.headers });
    expect(plain.status).toBe(426);
    first.socket!.close(1000);
  });
});
