import { describe, expect, it } from "vitest";
import { ADMIN, adminSku, api, eventually, db, putSku, putSkuRequest, unique } from "../support/worker";
import { skus } from "../../src/db/tables";
import { eq } from "drizzle-orm";

describe("catalog", () => {
  it("creates a SKU, shows it publicly and reaches Postgres through the queue", async () => {
    const skuId = unique("tee");
    // What the PUT sets and the public view shows back.
    const shown = { name: "Tee", price: 1999, status: "active", purchaseLimit: 2 };
    const created = await api(`/v1/admin/skus/${skuId}`, {
      method: "PUT",
      headers: ADMIN,
      body: { productId: "tee", merchantId: "m-1", ...shown, stock: 5, spec: { size: "M" } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      skuId,
      currency: "USD",
      onHand: 5,
      reserved: 0,
      sold: 0,
      available: 5,
      purchaseLimit: 2,
      stripes: 1,
    });

    const pub = await api(`/v1/skus/${skuId}`);
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({ skuId, ...shown, available: 5 });
    expect(pub.body).not.toHaveProperty("onHand");

    const row = await eventually(
      async () => (await db((d) => d.select().from(skus).where(eq(skus.skuId, skuId))))[0],
      20_000,
      "skus row",
    );
    expect(row).toMatchObject({ skuId, price: 1999, onHand: 5, version: 1 });
  });

  it("an unchanged PUT changes nothing", async () => {
    const skuId = await putSku(unique("sku"), { stock: 10 });
    const again = await putSkuRequest(skuId, { stock: 10 });
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(1);
  });

  it("a PUT with new stock sets what is on hand and available as a new version", async () => {
    const skuId = await putSku(unique("sku"), { stock: 10 });
    await putSku(skuId, { stock: 3 });
    expect(await adminSku(skuId)).toMatchObject({ onHand: 3, available: 3, version: 2 });
  });
});
