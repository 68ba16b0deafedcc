import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inventoryAudit } from "../../src/db/tables";
import { orderIdFor } from "../../src/http/checkout";
import { adminSku, api, asUser, auditBalances, checkout, db, eventually, putSku, unique } from "../support/worker";

async function add(headers: Record<string, string>, skuId: string, quantity: number) {
  const res = await api("/v1/cart/items", { headers, body: { skuId, quantity } });
  if (res.status !== 200) throw new Error(`add: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * The refused checkout left no order and no command for a SKU in its order actor's outbox (where a
 * reserve's release would wait to reach the SKU), so what the SKU shows now is final.
 */
async function expectNothingPending(cartKey: string, key: string) {
  const stub = env.ORDERS.getByName(await orderIdFor(cartKey, key));
  expect(await stub.get()).toBeNull();
  const skuCommands = await runInDurableObject(stub, (_actor, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").toArray().length === 0) return [];
    return sql.exec("SELECT payload FROM outbox WHERE kind = 'command' AND target LIKE 'sku:%'").toArray();
  });
  expect(skuCommands).toEqual([]);
}

/** The SKU's counters and audit rows show no reserve or release. */
async function expectUntouched(skuId: string, version: number) {
  expect((await adminSku(skuId)).version).toBe(version);
  await eventually(() => auditBalances(skuId), 20_000, "audit balances");
  const rows = await db((d) => d.select().from(inventoryAudit).where(eq(inventoryAudit.skuId, skuId)));
  expect(rows.filter((r) => r.kind === "reserve" || r.kind === "release")).toEqual([]);
}

describe("checkout refuses what quotes show before reserving anything", () => {
  it("a checkout with a wrong expectedTotal never takes the last unit from a concurrent honest checkout", async () => {
    for (let trial = 0; trial < 10; trial++) {
      const sku = await putSku(unique("last"), { price: 1000, stock: 1 });
      const wrong = await asUser();
      const honest = await asUser();
      await add(wrong.headers, sku, 1);
      await add(honest.headers, sku, 1);
      const [refused, bought] = await Promise.all([
        checkout(wrong.headers, { expectedTotal: 999 }),
        checkout(honest.headers, { expectedTotal: 1000 }),
      ]);
      expect(refused.body).toMatchObject({ code: "PRICE_CHANGED", errors: [{ expectedTotal: 999, total: 1000 }] });
      expect({ trial, status: bought.status, code: bought.body.code }).toEqual({ trial, status: 201, code: undefined });
    }
  });

  it("a PRICE_CHANGED refusal writes no reservation, no audit row and no version bump", async () => {
    const sku = await putSku(unique("s"), { price: 1000, stock: 5 });
    const user = await asUser();
    await add(user.headers, sku, 2);
    const { version } = await adminSku(sku);
    const key = unique("key");
    const res = await checkout(user.headers, { expectedTotal: 1 }, key);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "PRICE_CHANGED", errors: [{ expectedTotal: 1, total: 2000 }] });
    await expectNothingPending(user.cartKey, key);
    await expectUntouched(sku, version);
    // the honest retry with the right total goes through
    expect((await checkout(user.headers, { expectedTotal: 2000 })).status).toBe(201);
  });

  it("a line now priced in another currency is refused (PRICE_CHANGED) and reserves nothing either", async () => {
    const usd = await putSku(unique("usd"), { price: 500 });
    const other = await putSku(unique("eur"), { price: 700 });
    const user = await asUser();
    await add(user.headers, usd, 1);
    await add(user.headers, other, 1);
    await putSku(other, { price: 700, currency: "EUR" });
    const versions = await Promise.all([adminSku(usd), adminSku(other)]);
    const key = unique("key");
    const res = await checkout(user.headers, {}, key);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: "PRICE_CHANGED",
      errors: [{ skuId: other, currency: "EUR", shownCurrency: "USD" }],
    });
    await expectNothingPending(user.cartKey, key);
    await expectUntouched(usd, versions[0].version);
    await expectUntouched(other, versions[1].version);
  });
});
