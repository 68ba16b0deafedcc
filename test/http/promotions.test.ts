import { describe, expect, it } from "vitest";
import { promotionCache } from "../../src/cache/promotions";
import { ADMIN, api, asGuest, asUser, putSku, unique } from "../support/worker";

type Headers = Record<string, string>;

function putPromotion(promotionId: string, body: Record<string, unknown>) {
  return api(`/v1/admin/promotions/${promotionId}`, { method: "PUT", headers: ADMIN, body: { active: true, ...body } });
}

async function add(headers: Headers, skuId: string, quantity: number) {
  const res = await api("/v1/cart/items", { headers, body: { skuId, quantity } });
  if (res.status !== 200) throw new Error(`add: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const applyCode = (headers: Headers, code: string) => api("/v1/cart/promotions", { headers, body: { code } });

describe("promotions: admin", () => {
  /** A 20% promotion with a budget of 500, one per customer. */
  async function createBudgeted() {
    const id = unique("bf");
    const code = unique("BF").replace("-", "");
    const created = await putPromotion(id, { code, kind: "percent", value: 20, limit: 500, limitPerCustomer: 1 });
    return { id, code, created };
  }

  it("creates, reads, updates and lists a promotion with its budget", async () => {
    const { id, code, created } = await createBudgeted();
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      promotionId: id,
      code: code.toUpperCase(),
      used: 0,
      reserved: 0,
      remaining: 500,
      active: true,
    });
    expect((await api(`/v1/admin/promotions/${id}`, { headers: ADMIN })).body).toMatchObject({ remaining: 500 });
    const raised = await putPromotion(id, { code, kind: "percent", value: 20, limit: 600, limitPerCustomer: 1 });
    expect(raised).toMatchObject({ status: 200, body: { remaining: 600, version: 2 } });
    const page = await api(`/v1/admin/promotions?limit=100`, { headers: ADMIN });
    expect(page.body.items.map((p: { promotionId: string }) => p.promotionId)).toContain(id);
  });

  it("refuses a code that another promotion already uses, whatever its case", async () => {
    const { code } = await createBudgeted();
    const taken = await putPromotion(unique("other"), { code: code.toLowerCase(), kind: "percent", value: 5 });
    expect(taken).toMatchObject({ status: 409, body: { code: "PROMOTION_CODE_TAKEN" } });
  });

  it("validates the definition at the edge", async () => {
    for (const body of [
      { kind: "percent", value: 101 },
      { kind: "fixed", value: 500 },
      { kind: "percent", value: 10, minSubtotal: 100 },
      { kind: "percent", value: 10, get: 1 },
      { kind: "percent", value: 10, startsAt: "2026-12-02T00:00:00Z", endsAt: "2026-12-01T00:00:00Z" },
      { code: "a b", kind: "percent", value: 10 },
    ]) {
      const res = await putPromotion(unique("bad"), body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 400,
        code: "VALIDATION_FAILED",
      });
    }
  });
});

describe("promotions: in the cart", () => {
  it("applying a code discounts each line and the totals, and removing it takes the discount off again", async () => {
    const [a, b] = [await putSku(unique("a"), { price: 1000 }), await putSku(unique("b"), { price: 333 })];
    const code = unique("TEN").replace("-", "");
    await putPromotion(unique("p"), { code, kind: "percent", value: 10 });
    const user = await asUser();
    await add(user.headers, a, 2);
    await add(user.headers, b, 1);
    const applied = await applyCode(user.headers, code.toLowerCase());
    expect(applied.status).toBe(200);
    expect(applied.body.promotion).toMatchObject({ code: code.toUpperCase(), applied: true, reason: null });
    expect(applied.body.items.map((i: { discounts: { amount: number }[] }) => i.discounts[0]?.amount)).toEqual([
      200, 33,
    ]);
    expect(applied.body.totals).toMatchObject({
      subtotal: 2333,
      discounts: [{ code: code.toUpperCase(), kind: "percent", amount: 233 }],
      total: 2100,
    });
    const removed = await api(`/v1/cart/promotions/${code}`, { method: "DELETE", headers: user.headers });
    expect(removed.body).toMatchObject({ promotion: null, totals: { discounts: [], total: 2333 } });
    expect(removed.body.version).toBe(applied.body.version + 1);
  });

  it("refuses a code that does not apply, saying which condition is unmet", async () => {
    const sku = await putSku(unique("s"), { price: 1000 });
    const user = await asUser();
    await add(user.headers, sku, 1);
    expect((await applyCode(user.headers, "NO-SUCH-CODE")).body.code).toBe("PROMOTION_UNKNOWN");
    const min = unique("MIN").replace("-", "");
    await putPromotion(unique("p"), { code: min, kind: "fixed", value: 500, currency: "USD", minSubtotal: 5000 });
    const below = await applyCode(user.headers, min);
    expect(below).toMatchObject({
      status: 409,
      body: {
        code: "PROMOTION_NOT_APPLICABLE",
        errors: [{ condition: "min_subtotal", minSubtotal: 5000, currency: "USD", promotionCode: min.toUpperCase() }],
      },
    });
    const ended = unique("END").replace("-", "");
    await putPromotion(unique("p"), {
      code: ended,
      kind: "percent",
      value: 5,
      startsAt: "2026-01-01T00:00:00Z",
      endsAt: "2026-01-02T00:00:00Z",
    });
    expect((await applyCode(user.headers, ended)).body.code).toBe("PROMOTION_EXPIRED");
    const off = unique("OFF").replace("-", "");
    const offId = unique("p");
    await putPromotion(offId, { code: off, kind: "percent", value: 5 });
    await putPromotion(offId, { code: off, kind: "percent", value: 5, active: false });
    expect((await applyCode(user.headers, off)).body.code).toBe("PROMOTION_EXPIRED");
  });

  it("a guest may use an unlimited code but not a limited one", async () => {
    const sku = await putSku(unique("s"), { price: 1000 });
    const guest = asGuest();
    await add(guest.headers, sku, 1);
    const limited = unique("LIM").replace("-", "");
    await putPromotion(unique("p"), { code: limited, kind: "percent", value: 10, limit: 10 });
    expect((await applyCode(guest.headers, limited)).body).toMatchObject({
      code: "PROMOTION_NOT_APPLICABLE",
      errors: [{ condition: "sign_in" }],
    });
    const open = unique("OPEN").replace("-", "");
    await putPromotion(unique("p"), { code: open, kind: "percent", value: 10 });
    expect((await applyCode(guest.headers, open)).body.totals.total).toBe(900);
  });

  it("a code stays on the cart but stops discounting once removing a line crosses its minimum", async () => {
    const [a, b] = [await putSku(unique("a"), { price: 3000 }), await putSku(unique("b"), { price: 2500 })];
    const code = unique("MIN").replace("-", "");
    await putPromotion(unique("p"), { code, kind: "fixed", value: 500, currency: "USD", minSubtotal: 5000 });
    const user = await asUser();
    await add(user.headers, a, 1);
    await add(user.headers, b, 1);
    expect((await applyCode(user.headers, code)).body.totals.total).toBe(5000);
    const after = await api(`/v1/cart/items/${b}`, { method: "DELETE", headers: user.headers });
    expect(after.body.totals).toMatchObject({ subtotal: 3000, discounts: [], total: 3000 });
    expect(after.body.promotion).toMatchObject({
      applied: false,
      reason: { code: "PROMOTION_NOT_APPLICABLE", condition: "min_subtotal", minSubtotal: 5000, currency: "USD" },
    });
  });

  it("an automatic promotion applies without a code to the lines it names", async () => {
    const merchant = unique("m");
    const sku = await putSku(unique("auto"), { price: 2000, merchantId: merchant });
    await putPromotion(unique("auto"), { kind: "percent", value: 25, appliesTo: { merchantIds: [merchant] } });
    promotionCache.clear();
    const user = await asUser();
    const cart = await add(user.headers, sku, 1);
    expect(cart.totals).toMatchObject({ subtotal: 2000, total: 1500 });
    expect(cart.items[0].discounts).toEqual([expect.objectContaining({ code: null, amount: 500 })]);
  });

  it("merge on login carries the guest's code over, subject to the user's per-customer limit", async () => {
    const sku = await putSku(unique("s"), { price: 1000 });
    const open = unique("OPEN").replace("-", "");
    await putPromotion(unique("p"), { code: open, kind: "percent", value: 10 });
    const guest = asGuest();
    await add(guest.headers, sku, 1);
    await applyCode(guest.headers, open);
    const user = await asUser();
    const merged = await api("/v1/cart/merge", {
      headers: user.headers,
      body: { clientCartId: guest.cartId, strategy: "sum" },
    });
    expect(merged.body.merge.promotion).toEqual({ code: open.toUpperCase(), carried: true, reason: null });
    expect(merged.body).toMatchObject({
      promotion: { code: open.toUpperCase(), applied: true },
      totals: { total: 900 },
    });
    expect((await api("/v1/cart", { headers: guest.headers })).body.promotion).toBeNull();
  });
});
