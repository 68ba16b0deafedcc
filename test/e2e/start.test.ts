// `npm start`'s stack (mode "start"): the Worker built once and served by workerd through
// Miniflare, no wrangler dev. It answers, its queue consumer reaches Postgres, and Durable
// Object state survives a stop and a start on the same persist dir.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDevVars, startLocalStack, type LocalStack } from "../../dev/stack.ts";
import { Api, eventually, newId } from "../support/e2e.ts";

const persistDir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-start-"));
const vars = readDevVars();
const secrets = {
  JWT_SECRET: vars.JWT_SECRET!,
  ADMIN_TOKEN: vars.ADMIN_TOKEN!,
  PAYMENT_WEBHOOK_SECRET: vars.PAYMENT_WEBHOOK_SECRET!,
};
let stack: LocalStack | undefined;

function start(): Promise<LocalStack> {
  return startLocalStack({
    mode: "start",
    port: 0,
    databaseName: "edge_cart_e2e",
    persistDir,
    quiet: !process.env.E2E_VERBOSE,
  });
}

beforeAll(async () => {
  stack = await start();
});

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(persistDir, { recursive: true, force: true });
});

describe("npm start (mode start)", () => {
  const skuId = newId("sku-start");

  it("serves the built Worker: /healthz ok, and no wrangler dev endpoint", async () => {
    const api = new Api(stack!.baseUrl, secrets);
    const health = await api.get("/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok", checks: { postgres: "ok", redis: "ok", inventory: "ok" } });
    // /__scheduled is wrangler dev's (--test-scheduled); the served Worker runs crons itself.
    expect((await api.get("/__scheduled")).status).toBe(404);
    expect(fs.existsSync(path.join(persistDir, "build", "index.js"))).toBe(true);
  });

  it("delivers a queue message to the consumer: a SKU upsert becomes a `skus` row", async () => {
    const api = new Api(stack!.baseUrl, secrets);
    const put = await api.putSku(skuId, {
      productId: "prod-start",
      name: "Start Tee",
      merchantId: "m-1",
      price: 1500,
      stock: 9,
      purchaseLimit: 2,
    });
    expect(put.status).toBe(201);
    const db = new pg.Pool({ connectionString: stack!.databaseUrl, max: 1 });
    try {
      const row = await eventually(
        async () => {
          const { rows } = await db.query("select price, on_hand from skus where sku_id = $1", [skuId]);
          expect(rows).toHaveLength(1);
          return rows[0];
        },
        { timeoutMs: 20_000 },
      );
      expect(row).toEqual({ price: 1500, on_hand: 9 });
    } finally {
      await db.end();
    }
  });

  it("keeps Durable Object state across a stop and a start on the same persist dir", async () => {
    await stack!.stop();
    stack = await start(); // a fresh database and Redis: only the actors' storage on disk remembers the SKU
    const api = new Api(stack.baseUrl, secrets);
    expect(await api.skuCounters(skuId)).toMatchObject({
      skuId,
      price: 1500,
      onHand: 9,
      reserved: 0,
      sold: 0,
      available: 9,
    });
  });
});
