// Checkout and flash buy create a Stripe PaymentIntent when STRIPE_SECRET_KEY is set, off the
// stock path, against the local Stripe stand-in (dev/stripe-stand-in.ts, the one test double):
// one intent per order however often it is asked for; Stripe refusing it releases the stock;
// Stripe slow or down never holds the buyer or a stock stripe, and never loses the order.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app";
import { adminSku, asGuest, asUser, auditBalances, eventually, putSku, unique } from "../support/worker";

/** A merchant of its own: the catalog pages other tests read (merchant m-1) do not fill up with these SKUs. */
const MERCHANT = "m-stripe";

type Settings = Partial<
  Pick<
    Env,
    | "STRIPE_SECRET_KEY"
    | "STRIPE_PUBLISHABLE_KEY"
    | "STRIPE_JS_URL"
    | "STRIPE_TIMEOUT_MS"
    | "STRIPE_API_URL"
    | "ENVIRONMENT"
  >
>;

/** One request through the Worker with Stripe settings of its own (the project runs without a secret key). */
async function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown },
  with_: Settings,
) {
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  const res = await app.fetch(
    new Request(`http://edge-cart.test${path}`, {
      method: init.method ?? (body ? "POST" : "GET"),
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...init.headers },
      body,
    }),
    { ...env, ...with_ },
    createExecutionContext(),
  );
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const STRIPE: Settings = { STRIPE_SECRET_KEY: "sk_test_edge_cart" };

async function cartWith(price: number, quantity = 1, stock = 10) {
  const sku = await putSku(unique("intent"), { price, stock, merchantId: MERCHANT });
  const user = await asUser();
  expect((await call("/v1/cart/items", { headers: user.headers, body: { skuId: sku, quantity } }, {})).status).toBe(
    200,
  );
  return { sku, user };
}

const checkoutWith = (headers: Record<string, string>, key: string, settings: Settings) =>
  call("/v1/checkout", { headers: { ...headers, "idempotency-key": key }, body: {} }, settings);

/** The intents the stand-in made for an order, each with how many create requests it answered. */
async function intentsOf(
  orderId: string,
): Promise<{ id: string; amount: number; currency: string; requests: number }[]> {
  const res = await fetch(`${env.STRIPE_API_URL}/__stand-in/intents?orderId=${encodeURIComponent(orderId)}`);
  return ((await res.json()) as { data: any[] }).data;
}

describe("PaymentIntent at checkout", () => {
  it("checkout returns the order's one PaymentIntent, the same clientSecret on a replay and on a later request", async () => {
    const { user } = await cartWith(2500, 2);
    const key = unique("k");
    const placed = await checkoutWith(user.headers, key, STRIPE);
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      status: "PENDING",
      total: 5000,
      clientSecret: expect.stringMatching(/^pi_.+_secret_/),
    });
    const [intent] = await intentsOf(placed.body.orderId);
    expect(intent).toMatchObject({ amount: 5000, currency: "usd", metadata: { orderId: placed.body.orderId } });
    const replay = await checkoutWith(user.headers, key, STRIPE);
    expect(replay).toMatchObject({ status: 200, body: { clientSecret: placed.body.clientSecret } });
    const again = await call(
      `/v1/orders/${placed.body.orderId}/payment-intent`,
      { method: "POST", headers: user.headers },
      STRIPE,
    );
    expect(again).toMatchObject({
      status: 200,
      body: { orderId: placed.body.orderId, clientSecret: placed.body.clientSecret },
    });
    expect(await intentsOf(placed.body.orderId)).toMatchObject([{ id: intent!.id, requests: 3 }]);
  });

  it("without STRIPE_SECRET_KEY checkout answers as before and asks Stripe nothing", async () => {
    const { user } = await cartWith(2500);
    const placed = await checkoutWith(user.headers, unique("k"), {});
    expect(placed.status).toBe(201);
    expect(placed.body).not.toHaveProperty("clientSecret");
    expect(await intentsOf(placed.body.orderId)).toEqual([]);
    const refused = await call(
      `/v1/orders/${placed.body.orderId}/payment-intent`,
      { method: "POST", headers: user.headers },
      {},
    );
    expect(refused.status).toBe(403);
  });

  it("Stripe refusing the payment (over its maximum amount) cancels the order and releases the stock", async () => {
    const { sku, user } = await cartWith(60_000_000, 2);
    const refused = await checkoutWith(user.headers, unique("k"), STRIPE);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: "PAYMENT_REFUSED" });
    expect(refused.body.detail).toMatch(/Amount must be no more than \$999,999\.99/);
    const orderId = /order (\S+) is cancelled/.exec(refused.body.detail)![1]!;
    const order = await call(`/v1/orders/${orderId}`, { headers: user.headers }, {});
    expect(order.body).toMatchObject({ status: "CANCELLED" });
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    expect(await adminSku(sku)).toMatchObject({ available: 10, sold: 0 });
    await eventually(() => auditBalances(sku), 20_000, "audit balances");
  });

  it("Stripe slower than STRIPE_TIMEOUT_MS: the order is answered at once without a clientSecret, and asked for later it is the same intent", async () => {
    const { sku, user } = await cartWith(2500);
    const slow: Settings = { STRIPE_SECRET_KEY: "sk_test_slow_edge_cart", STRIPE_TIMEOUT_MS: "300" };
    const started = Date.now();
    const placed = await checkoutWith(user.headers, unique("k"), slow);
    const waited = Date.now() - started;
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: "PENDING", clientSecret: null });
    expect(waited).toBeLessThan(1500); // the stand-in answers that key after 2 s
    expect(await adminSku(sku)).toMatchObject({ reserved: 1 });
    const later = await call(
      `/v1/orders/${placed.body.orderId}/payment-intent`,
      { method: "POST", headers: user.headers },
      { ...slow, STRIPE_TIMEOUT_MS: "5000" },
    );
    expect(later).toMatchObject({ status: 200, body: { clientSecret: expect.stringMatching(/_secret_/) } });
    // The first request reached Stripe too: still one intent for the order.
    expect(await intentsOf(placed.body.orderId)).toHaveLength(1);
  });

  it("with Stripe down or unreachable the order stands without a clientSecret, and asking for one again is 503 with Retry-After", async () => {
    for (const down of [
      { STRIPE_SECRET_KEY: "sk_test_down_edge_cart" },
      { ...STRIPE, STRIPE_API_URL: "http://127.0.0.1:9" },
      { STRIPE_SECRET_KEY: "rk_not_a_secret_key" },
    ]) {
      const { sku, user } = await cartWith(2500);
      const placed = await checkoutWith(user.headers, unique("k"), down);
      expect(placed).toMatchObject({ status: 201, body: { status: "PENDING", clientSecret: null } });
      expect(await adminSku(sku)).toMatchObject({ reserved: 1 });
      const again = await call(
        `/v1/orders/${placed.body.orderId}/payment-intent`,
        { method: "POST", headers: user.headers },
        down,
      );
      expect(again.status).toBe(503);
      expect(again.headers.get("retry-after")).toBe("5");
    }
  });

  it("the intent route is the owner's, for PENDING orders only", async () => {
    const { user } = await cartWith(2500);
    const placed = await checkoutWith(user.headers, unique("k"), STRIPE);
    const other = asGuest();
    const path = `/v1/orders/${placed.body.orderId}/payment-intent`;
    expect((await call(path, { method: "POST", headers: other.headers }, STRIPE)).status).toBe(404);
    await call(`/v1/orders/${placed.body.orderId}/cancel`, { method: "POST", headers: user.headers }, {});
    expect((await call(path, { method: "POST", headers: user.headers }, STRIPE)).body).toMatchObject({
      code: "ORDER_NOT_PENDING",
    });
  });
});

describe("PaymentIntent at flash buy", () => {
  it("flash buy returns the clientSecret, and a slow Stripe holds up neither the stock stripe nor other buyers", async () => {
    const sku = await putSku(unique("intent-flash"), { price: 9900, stock: 5, merchantId: MERCHANT });
    const slowBuyer = await asUser();
    const fastBuyer = await asUser();
    const buy = (headers: Record<string, string>, settings: Settings) =>
      call(
        `/v1/flash/${sku}/orders`,
        { headers: { ...headers, "idempotency-key": unique("k") }, body: { quantity: 1 } },
        settings,
      );
    const slowStarted = Date.now();
    const slow = buy(slowBuyer.headers, { STRIPE_SECRET_KEY: "sk_test_slow_edge_cart", STRIPE_TIMEOUT_MS: "5000" });
    // While the first buyer's intent is still being made (2 s), the same stock stripe serves another buyer.
    await new Promise((r) => setTimeout(r, 200));
    const fastStarted = Date.now();
    const fast = await buy(fastBuyer.headers, STRIPE);
    const fastMs = Date.now() - fastStarted;
    expect(fast).toMatchObject({ status: 201, body: { clientSecret: expect.stringMatching(/_secret_/) } });
    const slowReply = await slow;
    expect(Date.now() - slowStarted).toBeGreaterThanOrEqual(1900);
    expect(fastMs).toBeLessThan(1500);
    expect(slowReply).toMatchObject({ status: 201, body: { clientSecret: expect.stringMatching(/_secret_/) } });
    const [intent] = await intentsOf(slowReply.body.orderId);
    expect(intent).toMatchObject({ amount: 9900, metadata: { orderId: slowReply.body.orderId } });
  });

  it("a refused flash intent cancels the flash order and releases its units", async () => {
    const sku = await putSku(unique("intent-flash"), { price: 100_000_000, stock: 3, merchantId: MERCHANT });
    const buyer = await asUser();
    const refused = await call(
      `/v1/flash/${sku}/orders`,
      { headers: { ...buyer.headers, "idempotency-key": unique("k") }, body: { quantity: 1 } },
      STRIPE,
    );
    expect(refused).toMatchObject({ status: 422, body: { code: "PAYMENT_REFUSED" } });
    await eventually(async () => (await adminSku(sku)).reserved === 0, 5_000, "released");
    expect(await adminSku(sku)).toMatchObject({ available: 3, sold: 0 });
  });
});

describe("payment settings for the storefront", () => {
  it("GET /v1/payments/config names Stripe only with both keys, else the test provider in development, else none", async () => {
    const keys = { ...STRIPE, STRIPE_PUBLISHABLE_KEY: "pk_test_edge_cart" };
    expect((await call("/v1/payments/config", {}, keys)).body).toEqual({
      provider: "stripe",
      publishableKey: "pk_test_edge_cart",
      scriptUrl: "https://js.stripe.com/v3/",
    });
    const local = { ...keys, STRIPE_JS_URL: `${env.STRIPE_API_URL}/v3/` };
    expect((await call("/v1/payments/config", {}, local)).body.scriptUrl).toBe(`${env.STRIPE_API_URL}/v3/`);
    expect((await call("/v1/payments/config", {}, { STRIPE_PUBLISHABLE_KEY: "pk_test_edge_cart" })).body).toEqual({
      provider: "none",
    });
    expect((await call("/v1/payments/config", {}, { ENVIRONMENT: "development" })).body).toEqual({ provider: "test" });
  });
});
