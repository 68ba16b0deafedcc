// `npm run seed`: puts demo data into the running local Worker through its public API:
// a catalog (PUT /v1/admin/skus/{skuId}), promotion codes anyone may use (PUT
// /v1/admin/promotions/{promotionId}), two users with their tokens printed, a cart for
// bob, a paid order for alice (checkout + a signed payment webhook), and a flash SKU
// whose sale opens a few minutes from now (saleStartsAt, for a countdown).
// Re-running resets the catalog, the codes and bob's cart and adds one more paid order for alice.
import { randomUUID } from "node:crypto";
import { sendPayment, webhookSecret } from "./pay.ts";
import { readDevVars } from "./dev-vars.ts";
import { userToken } from "./token.ts";
import { isMain } from "./util.ts";

interface SkuSeed {
  skuId: string;
  productId: string;
  name: string;
  image?: string;
  spec?: string | Record<string, string>;
  merchantId: string;
  /** Integer cents. */
  price: number;
  currency: "USD";
  status: "active";
  stock: number;
  purchaseLimit?: number;
  /** ISO time a flash sale opens (flash buys and adds before it: 409 SALE_NOT_STARTED). */
  saleStartsAt?: string;
}

/** How far ahead the seeded upcoming flash sale opens. */
export const UPCOMING_SALE_MINUTES = 15;

const img = (skuId: string) => `https://images.example.com/demo/${skuId}.jpg`;

export const DEMO_CATALOG: SkuSeed[] = [
  // merchant: a clothing shop
  {
    skuId: "tee-red-m",
    productId: "tee-classic",
    name: "Classic Tee - Red, M",
    spec: { color: "red", size: "M" },
    merchantId: "m-threads",
    price: 1999,
    currency: "USD",
    status: "active",
    stock: 120,
  },
  {
    skuId: "tee-red-l",
    productId: "tee-classic",
    name: "Classic Tee - Red, L",
    spec: { color: "red", size: "L" },
    merchantId: "m-threads",
    price: 1999,
    currency: "USD",
    status: "active",
    stock: 80,
  },
  {
    skuId: "tee-navy-m",
    productId: "tee-classic",
    name: "Classic Tee - Navy, M",
    spec: { color: "navy", size: "M" },
    merchantId: "m-threads",
    price: 1999,
    currency: "USD",
    status: "active",
    stock: 60,
  },
  {
    skuId: "hoodie-grey-l",
    productId: "hoodie-zip",
    name: "Zip Hoodie - Grey, L",
    spec: { color: "grey", size: "L" },
    merchantId: "m-threads",
    price: 4950,
    currency: "USD",
    status: "active",
    stock: 35,
  },
  // merchant: a coffee roaster
  {
    skuId: "beans-ethiopia-250g",
    productId: "beans-ethiopia",
    name: "Ethiopia Yirgacheffe, 250 g",
    spec: { roast: "light", weight: "250g" },
    merchantId: "m-roastery",
    price: 1450,
    currency: "USD",
    status: "active",
    stock: 200,
  },
  {
    skuId: "beans-colombia-1kg",
    productId: "beans-colombia",
    name: "Colombia Huila, 1 kg",
    spec: { roast: "medium", weight: "1kg" },
    merchantId: "m-roastery",
    price: 4200,
    currency: "USD",
    status: "active",
    stock: 40,
  },
  {
    skuId: "mug-stoneware",
    productId: "mug-stoneware",
    name: "Stoneware Mug",
    merchantId: "m-roastery",
    price: 1800,
    currency: "USD",
    status: "active",
    stock: 75,
  },
  // the flash-sale SKU: little stock, at most 2 per buyer
  {
    skuId: "grinder-flash",
    productId: "grinder-pro",
    name: "Burr Grinder Pro (flash sale)",
    spec: { edition: "launch" },
    merchantId: "m-roastery",
    price: 9900,
    currency: "USD",
    status: "active",
    stock: 25,
    purchaseLimit: 2,
  },
  // an upcoming flash sale: opens UPCOMING_SALE_MINUTES after each seed run (set in demoCatalog)
  {
    skuId: "kettle-flash",
    productId: "kettle-gooseneck",
    name: "Gooseneck Kettle (flash sale, opens soon)",
    spec: "Matte black / 1 L",
    merchantId: "m-roastery",
    price: 5900,
    currency: "USD",
    status: "active",
    stock: 10,
    purchaseLimit: 1,
  },
];

/** The catalog with the upcoming sale's opening set relative to `now`. */
export function demoCatalog(now = Date.now()): SkuSeed[] {
  const opens = new Date(now + UPCOMING_SALE_MINUTES * 60_000).toISOString();
  return DEMO_CATALOG.map((sku) => (sku.skuId === "kettle-flash" ? { ...sku, saleStartsAt: opens } : sku));
}

export async function seed(
  baseUrl: string,
  adminToken: string,
  catalog = DEMO_CATALOG,
): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  for (const { skuId, ...sku } of catalog) {
    const body = { ...sku, image: sku.image ?? img(skuId) };
    const res = await fetch(`${baseUrl}/v1/admin/skus/${encodeURIComponent(skuId)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.ok) {
      ok++;
      console.log(`  ${res.status} ${skuId}`);
    } else {
      failed++;
      console.error(`  ${res.status} ${skuId}: ${(await res.text()).slice(0, 500)}`);
    }
  }
  return { ok, failed };
}

/**
 * Demo codes for the storefront's code field. Without a limit, so guests may use them too (a
 * limited code needs a signed-in user) and re-running the seed finds them as it left them.
 */
export const DEMO_PROMOTIONS = [
  { promotionId: "demo-welcome10", code: "WELCOME10", kind: "percent", value: 10, active: true },
  // $5 off from $50: below that it stays on the cart and says why it gives nothing.
  {
    promotionId: "demo-save5",
    code: "SAVE5",
    kind: "fixed",
    value: 500,
    currency: "USD",
    minSubtotal: 5000,
    active: true,
  },
] as const;

/** PUTs each demo code (200 when it was there already); throws on any other answer. */
export async function seedPromotions(baseUrl: string, adminToken: string): Promise<{ code: string; status: number }[]> {
  const written: { code: string; status: number }[] = [];
  for (const { promotionId, ...promotion } of DEMO_PROMOTIONS) {
    const res = await call(
      baseUrl,
      "PUT",
      `/v1/admin/promotions/${encodeURIComponent(promotionId)}`,
      { authorization: `Bearer ${adminToken}` },
      promotion,
    );
    written.push({ code: promotion.code, status: res.status });
  }
  return written;
}

interface Reply {
  status: number;
  body: any;
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Reply> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { status: res.status, body: parsed };
}

export interface DemoUsers {
  alice: { token: string; paidOrderId: string; total: number };
  bob: { token: string; cartLines: number };
}

/**
 * Demo users: bob gets a fresh cart of two lines; alice buys two bags of beans (checkout
 * with a new Idempotency-Key) and pays through a signed webhook, so the order is PAID.
 */
export async function seedUsers(baseUrl: string, secrets: { jwt?: string; webhook: string }): Promise<DemoUsers> {
  const aliceToken = await userToken("alice", 24 * 7, secrets.jwt);
  const bobToken = await userToken("bob", 24 * 7, secrets.jwt);
  const alice = { authorization: `Bearer ${aliceToken}` };
  const bob = { authorization: `Bearer ${bobToken}` };

  await call(baseUrl, "DELETE", "/v1/cart", bob);
  await call(baseUrl, "POST", "/v1/cart/items", bob, { skuId: "tee-red-m", quantity: 1 });
  const cart = await call(baseUrl, "POST", "/v1/cart/items", bob, { skuId: "mug-stoneware", quantity: 2 });

  await call(baseUrl, "POST", "/v1/cart/items", alice, { skuId: "beans-ethiopia-250g", quantity: 2 });
  const order = await call(
    baseUrl,
    "POST",
    "/v1/checkout",
    { ...alice, "idempotency-key": `seed-${randomUUID()}` },
    { skuIds: ["beans-ethiopia-250g"] },
  );
  const { orderId, total } = order.body as { orderId: string; total: number };
  const paid = await sendPayment({ baseUrl, secret: secrets.webhook, orderId, amount: total });
  if (paid.status !== 200) throw new Error(`payment of ${orderId}: ${paid.status} ${paid.body.slice(0, 300)}`);
  return {
    alice: { token: aliceToken, paidOrderId: orderId, total },
    bob: { token: bobToken, cartLines: (cart.body as { items: unknown[] }).items.length },
  };
}

if (isMain(import.meta.url)) {
  const baseUrl = `http://localhost:${process.env.PORT ?? 8787}`;
  const vars = readDevVars();
  const adminToken = process.env.ADMIN_TOKEN ?? vars.ADMIN_TOKEN;
  if (!adminToken) {
    console.error("No ADMIN_TOKEN in .dev.vars (or the environment).");
    process.exit(1);
  }
  const catalog = demoCatalog();
  console.log(`Seeding ${catalog.length} SKUs into ${baseUrl} ...`);
  try {
    const { ok, failed } = await seed(baseUrl, adminToken, catalog);
    console.log(
      `Catalog: ${ok} written, ${failed} failed. kettle-flash opens at ${catalog.find((s) => s.skuId === "kettle-flash")?.saleStartsAt} (flash buys before: 409 SALE_NOT_STARTED).`,
    );
    if (failed) process.exit(1);
    const codes = await seedPromotions(baseUrl, adminToken);
    console.log(
      `Codes: ${codes.map((c) => `${c.code} (${c.status === 201 ? "created" : "kept"})`).join(", ")}: anyone may apply them in the cart, guests too.`,
    );
    const users = await seedUsers(baseUrl, {
      jwt: process.env.JWT_SECRET ?? vars.JWT_SECRET,
      webhook: webhookSecret(),
    });
    console.log(`alice: paid order ${users.alice.paidOrderId} (${users.alice.total} cents)`);
    console.log(`bob:   a cart of ${users.bob.cartLines} lines`);
    console.log("\nTokens (valid 7 days):");
    console.log(`  ALICE="Authorization: Bearer ${users.alice.token}"`);
    console.log(`  BOB="Authorization: Bearer ${users.bob.token}"`);
    console.log(`Try: curl -s -w '\\n' ${baseUrl}/v1/orders -H "$ALICE"`);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "ECONNREFUSED")
      console.error(`Nothing answers on ${baseUrl}: start the stack first (npm run dev).`);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
