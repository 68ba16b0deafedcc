// Money has one type and one bound from the HTTP schema through the actors and the events to
// Postgres (contracts/limits.ts): the largest amount the API accepts arrives in Postgres exactly
// and can be paid; one past the bound is refused at the edge with 400 and writes nothing.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { cartItems, orderItems, orders, payments, skus } from "../../src/db/tables";
import { MAX_AMOUNT, MAX_CART_LINES, MAX_LINE_QUANTITY, MAX_UNIT_PRICE } from "../../src/contracts/limits";
import {
  ADMIN,
  api,
  asUser,
  checkout,
  db,
  eventually,
  putSku,
  putSkuRequest,
  sendPayment,
  unique,
} from "../support/worker";

const skuRow = (skuId: string) => db((d) => d.select().from(skus).where(eq(skus.skuId, skuId)));

describe("money bounds", () => {
  it("stores a SKU priced at the largest unit price in Postgres and lists it", async () => {
    const merchantId = unique("m-max");
    const skuId = await putSku(unique("max-price"), { price: MAX_UNIT_PRICE, merchantId });
    const [row] = await eventually(
      async () => {
        const rows = await skuRow(skuId);
        return rows[0]?.productId === `p-${skuId}` && rows;
      },
      20_000,
      "skus row",
    );
    expect(row!.price).toBe(MAX_UNIT_PRICE);
    const listed = await api(`/v1/products?merchantId=${merchantId}`);
    expect(JSON.stringify(listed.body)).toContain(skuId);
  });

  it("refuses a unit price one past the bound with 400 and creates no SKU", async () => {
    const skuId = unique("too-dear");
    const res = await putSkuRequest(skuId, { price: MAX_UNIT_PRICE + 1 });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "body.price" }] });
    expect((await api(`/v1/admin/skus/${skuId}`, { headers: ADMIN })).status).toBe(404);
  });

  it("refuses an expectedTotal and a webhook amount one past the largest total with 400", async () => {
    const user = await asUser();
    const placed = await checkout(user.headers, { expectedTotal: MAX_AMOUNT + 1 });
    expect(placed.status).toBe(400);
    expect(placed.body.errors).toEqual([expect.objectContaining({ path: "body.expectedTotal" })]);
    const paid = await sendPayment({ orderId: `ord_${"0".repeat(32)}`, amount: MAX_AMOUNT + 1 });
    expect(paid.status).toBe(400);
    expect(paid.body.errors).toEqual([expect.objectContaining({ path: "body.amount" })]);
  });

  it("checks out and pays the largest cart exactly, and Postgres holds every amount", async () => {
    const user = await asUser();
    const ids = Array.from({ length: MAX_CART_LINES }, (_, i) => `${unique("dear")}-${i}`);
    for (let i = 0; i < ids.length; i += 20)
      await Promise.all(
        ids.slice(i, i + 20).map((id) => putSku(id, { price: MAX_UNIT_PRICE, stock: MAX_LINE_QUANTITY })),
      );
    // The HTTP add is rate-limited (30 per 10 s here), so the lines go to the cart actor directly;
    // the route is a thin front over this same call.
    const cart = env.CARTS.getByName(user.cartKey);
    for (const id of ids) expect((await cart.addItem(id, MAX_LINE_QUANTITY, null)).ok).toBe(true);
    const view = (await api("/v1/cart", { headers: user.headers })).body;
    expect(view.totals).toMatchObject({ totalAmount: MAX_AMOUNT, selectedAmount: MAX_AMOUNT });

    const placed = await checkout(user.headers, { expectedTotal: MAX_AMOUNT });
    expect(placed.status).toBe(201);
    expect(placed.body.total).toBe(MAX_AMOUNT);
    const orderId: string = placed.body.orderId;
    const paid = await sendPayment({ orderId, amount: MAX_AMOUNT });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe("PAID");

    const [row] = await eventually(
      async () => {
        const rows = await db((d) => d.select().from(orders).where(eq(orders.orderId, orderId)));
        return rows[0]?.status === "PAID" && rows;
      },
      30_000,
      "the paid order in Postgres",
    );
    expect(row!.total).toBe(MAX_AMOUNT);
    const lines = await db((d) => d.select().from(orderItems).where(eq(orderItems.orderId, orderId)));
    expect(lines).toHaveLength(MAX_CART_LINES);
    expect(lines.every((l) => l.unitPrice === MAX_UNIT_PRICE && l.lineTotal === MAX_UNIT_PRICE * 999)).toBe(true);
    const [payment] = await db((d) => d.select().from(payments).where(eq(payments.orderId, orderId)));
    expect(payment).toMatchObject({ status: "SUCCEEDED", amount: MAX_AMOUNT });
    const [line] = await eventually(
      async () => {
        const rows = await db((d) => d.select().from(cartItems).where(eq(cartItems.skuId, ids[0]!)));
        return rows.length > 0 && rows;
      },
      20_000,
      "a cart line in Postgres",
    );
    expect(line!.unitPrice).toBe(MAX_UNIT_PRICE);
  }, 180_000); // 200 SKUs and 200 cart lines: a minute on a busy 2-core machine
});
