// `npm run seed`: puts a small demo catalog into the running local Worker through the
// admin API (PUT /v1/admin/skus/{skuId}), so the storefront routes have something to show.
import { readDevVars } from "./stack.ts";
import { isMain } from "./util.ts";

interface SkuSeed {
  skuId: string;
  productId: string;
  name: string;
  image?: string;
  spec?: Record<string, string>;
  merchantId: string;
  /** Integer cents. */
  price: number;
  currency: "USD";
  status: "active";
  stock: number;
  purchaseLimit?: number;
}

const img = (skuId: string) => `https://images.example.com/demo/${skuId}.jpg`;

export const DEMO_CATALOG: SkuSeed[] = [
  // merchant: a clothing shop
  { skuId: "tee-red-m", productId: "tee-classic", name: "Classic Tee - Red, M", spec: { color: "red", size: "M" }, merchantId: "m-threads", price: 1999, currency: "USD", status: "active", stock: 120 },
  { skuId: "tee-red-l", productId: "tee-classic", name: "Classic Tee - Red, L", spec: { color: "red", size: "L" }, merchantId: "m-threads", price: 1999, currency: "USD", status: "active", stock: 80 },
  { skuId: "tee-navy-m", productId: "tee-classic", name: "Classic Tee - Navy, M", spec: { color: "navy", size: "M" }, merchantId: "m-threads", price: 1999, currency: "USD", status: "active", stock: 60 },
  { skuId: "hoodie-grey-l", productId: "hoodie-zip", name: "Zip Hoodie - Grey, L", spec: { color: "grey", size: "L" }, merchantId: "m-threads", price: 4950, currency: "USD", status: "active", stock: 35 },
  // merchant: a coffee roaster
  { skuId: "beans-ethiopia-250g", productId: "beans-ethiopia", name: "Ethiopia Yirgacheffe, 250 g", spec: { roast: "light", weight: "250g" }, merchantId: "m-roastery", price: 1450, currency: "USD", status: "active", stock: 200 },
  { skuId: "beans-colombia-1kg", productId: "beans-colombia", name: "Colombia Huila, 1 kg", spec: { roast: "medium", weight: "1kg" }, merchantId: "m-roastery", price: 4200, currency: "USD", status: "active", stock: 40 },
  { skuId: "mug-stoneware", productId: "mug-stoneware", name: "Stoneware Mug", merchantId: "m-roastery", price: 1800, currency: "USD", status: "active", stock: 75 },
  // the flash-sale SKU: little stock, at most 2 per buyer
  { skuId: "grinder-flash", productId: "grinder-pro", name: "Burr Grinder Pro (flash sale)", spec: { edition: "launch" }, merchantId: "m-roastery", price: 9900, currency: "USD", status: "active", stock: 25, purchaseLimit: 2 },
];

export async function seed(baseUrl: string, adminToken: string, catalog = DEMO_CATALOG): Promise<{ ok: number; failed: number }> {
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

if (isMain(import.meta.url)) {
  const baseUrl = `http://localhost:${process.env.PORT ?? 8787}`;
  const adminToken = process.env.ADMIN_TOKEN ?? readDevVars().ADMIN_TOKEN;
  if (!adminToken) {
    console.error("No ADMIN_TOKEN in .dev.vars (or the environment).");
    process.exit(1);
  }
  console.log(`Seeding ${DEMO_CATALOG.length} SKUs into ${baseUrl} ...`);
  try {
    const { ok, failed } = await seed(baseUrl, adminToken);
    console.log(`Done: ${ok} written, ${failed} failed.`);
    process.exit(failed ? 1 : 0);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === "ECONNREFUSED") console.error(`Nothing answers on ${baseUrl}: start the stack first (npm run dev).`);
    else console.error(err);
    process.exit(1);
  }
}
