// Busy keep-alive clients in a process of their own (a test's own event loop, which also hosts
// the stack's helpers, is too slow a client to keep workerd saturated): CLIENTS clients share
// CARTS guest carts (one line of each SKU), each sending its next request as soon as the
// previous one answered, 60% `GET /v1/cart` and 40% adds of the SKUs, for SECONDS. Prints the
// status counts and the slowest answer (ms) as JSON.
// `node --import tsx test/support/busy-clients.ts <baseUrl> <sku,sku,..> <carts> <clients> <seconds>`
import { Agent } from "node:http";
import { sendRaw } from "../../bench/lib/http-send.ts";

const [baseUrl, skuList, carts, clients, seconds] = process.argv.slice(2) as [string, string, string, string, string];
const agent = new Agent({ keepAlive: true, maxSockets: Number(clients) });
const target = new URL(baseUrl);
const skuIds = skuList.split(",");
const cartIds = Array.from({ length: Number(carts) }, () => crypto.randomUUID());

/** The answer's status, 0 when the request failed on the way (the bench's sender: it never throws). */
async function send(method: string, path: string, cart: string, body?: string): Promise<number> {
  const headers: Record<string, string> = { "x-cart-id": cart };
  if (body) headers["content-type"] = "application/json";
  const res = await sendRaw(
    agent,
    { host: target.hostname, port: target.port },
    { method, path, headers, body },
    60_000,
  );
  return res.status;
}

const add = (cart: string, n: number) =>
  send("POST", "/v1/cart/items", cart, JSON.stringify({ skuId: skuIds[n % skuIds.length], quantity: 1 }));
for (const [n] of skuIds.entries())
  for (let i = 0; i < cartIds.length; i += 50) await Promise.all(cartIds.slice(i, i + 50).map((c) => add(c, n)));
process.stdout.write("WARM\n");
// Idle carts are evicted after 10 s: the load starts with every cart actor starting again.
await new Promise((r) => setTimeout(r, 11_000));
process.stdout.write("LOAD\n");
const statuses: Record<number, number> = {};
let slowest = 0;
const until = Date.now() + Number(seconds) * 1000;
await Promise.all(
  Array.from({ length: Number(clients) }, async (_, client) => {
    for (let n = 0; Date.now() < until; n++) {
      const cart = cartIds[(client * 10 + (n % 10)) % cartIds.length]!;
      const started = performance.now();
      const status = n % 5 < 3 ? await send("GET", "/v1/cart", cart) : await add(cart, n);
      slowest = Math.max(slowest, performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }),
);
agent.destroy();
process.stdout.write(`DONE ${JSON.stringify({ statuses, slowestMs: Math.round(slowest) })}\n`);
