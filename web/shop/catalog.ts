// The catalog pages: the product grid (filter by merchant, page by cursor, add a single-variant
// product at once) and a product's page, its variants with live price and stock from the SKU
// views (the listing may trail them by the queue delay) and a link to each variant's flash sale.
import type { Product, ProductPage, Sku } from "./api";
import { api } from "./api";
import { setCart } from "./cart";
import { countdown, h, money, mount, specText, tableHead } from "./dom";
import { showError, showOk } from "./notice";
import { main } from "./page";

const productCache = new Map<string, Product>();

function skuState(sku: Sku): string {
  if (sku.status !== "active") return "unavailable";
  if (sku.saleStartsAt && Date.parse(sku.saleStartsAt) > Date.now())
    return `sale starts in ${countdown(sku.saleStartsAt)}`;
  return sku.available > 0 ? `${sku.available} in stock` : "out of stock";
}

async function addToCart(skuId: string, quantity: number): Promise<void> {
  try {
    setCart(await api("POST", "/v1/cart/items", { skuId, quantity }));
    showOk("Added to the cart.");
  } catch (err) {
    showError(err);
  }
}

export async function gridPage(params: URLSearchParams): Promise<void> {
  const merchant = params.get("merchant") ?? "";
  const cursor = params.get("cursor") ?? "";
  const q = new URLSearchParams({ limit: "12" });
  if (merchant) q.set("merchantId", merchant);
  if (cursor) q.set("cursor", cursor);
  const page = await api<ProductPage>("GET", `/v1/products?${q}`);
  page.items.forEach((p) => productCache.set(p.productId, p));
  const go = (next: Record<string, string>) => {
    const p = new URLSearchParams(Object.entries(next).filter(([, v]) => v));
    location.hash = `#/?${p}`;
  };
  mount(
    main(),
    h("h1", {}, "Products"),
    h(
      "form",
      {
        class: "filters",
        onsubmit: (e: Event) => {
          e.preventDefault();
          go({ merchant: (document.getElementById("merchant") as HTMLInputElement).value.trim() });
        },
      },
      h("label", {}, "Merchant", h("input", { id: "merchant", value: merchant, placeholder: "all merchants" })),
      h("button", { type: "submit" }, "Filter"),
      merchant && h("button", { type: "button", onclick: () => go({}) }, "Show all"),
    ),
    page.items.length === 0 ? h("p", {}, "No products here yet.") : null,
    h(
      "ul",
      { class: "grid" },
      page.items.map((p) =>
        h(
          "li",
          { class: "card", "data-product": p.productId },
          h("h3", {}, h("a", { href: `#/p/${encodeURIComponent(p.productId)}` }, p.name)),
          h("span", { class: "muted" }, `by ${p.merchantId}`),
          h(
            "span",
            { class: "price" },
            p.priceRange.min === p.priceRange.max
              ? money(p.priceRange.min, p.priceRange.currency)
              : `${money(p.priceRange.min, p.priceRange.currency)} – ${money(p.priceRange.max, p.priceRange.currency)}`,
          ),
          h("span", { class: "muted" }, `${p.skus.length} variant(s)`),
          p.skus.length === 1 &&
            p.skus[0] &&
            h(
              "button",
              {
                type: "button",
                class: "primary",
                "aria-label": `Add ${p.name} to cart`,
                onclick: () => addToCart(p.skus[0]!.skuId, 1),
              },
              "Add to cart",
            ),
        ),
      ),
    ),
    h(
      "nav",
      { "aria-label": "Pages", class: "filters" },
      cursor && h("button", { type: "button", onclick: () => history.back() }, "Previous"),
      page.next && h("button", { type: "button", onclick: () => go({ merchant, cursor: page.next! }) }, "Next page"),
    ),
  );
}

async function findProduct(productId: string): Promise<Product | null> {
  const hit = productCache.get(productId);
  if (hit) return hit;
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await api<ProductPage>("GET", `/v1/products?${q}`);
    page.items.forEach((p) => productCache.set(p.productId, p));
    if (productCache.has(productId)) return productCache.get(productId)!;
    cursor = page.next;
  } while (cursor);
  return null;
}

export async function productPage(productId: string): Promise<void> {
  const product = await findProduct(productId);
  if (!product) {
    mount(
      main(),
      h("h1", {}, "Not found"),
      h("p", {}, `No product ${productId}.`),
      h("a", { href: "#/" }, "Back to products"),
    );
    return;
  }
  // Live values (price, stock) from the SKU views; the listing may trail them by the queue delay.
  const skus = await Promise.all(
    product.skus.map((s) => api<Sku>("GET", `/v1/skus/${encodeURIComponent(s.skuId)}`).catch(() => s)),
  );
  mount(
    main(),
    h("p", {}, h("a", { href: "#/" }, "← Products")),
    h("h1", {}, product.name),
    h("p", { class: "muted" }, `Sold by ${product.merchantId}`),
    h(
      "table",
      {},
      h("caption", { class: "muted", style: "text-align:left" }, "Variants"),
      tableHead("Variant", "Price", "Stock", "Limit", h("span", { class: "muted" }, "Buy")),
      h(
        "tbody",
        {},
        skus.map((s) => {
          const qtyId = `qty-${s.skuId}`;
          const startsLater = s.saleStartsAt !== null && Date.parse(s.saleStartsAt) > Date.now();
          return h(
            "tr",
            { "data-sku": s.skuId },
            h("td", {}, specText(s.spec) || s.name),
            h("td", { class: "price" }, money(s.price, s.currency)),
            h("td", {}, skuState(s)),
            h("td", {}, s.purchaseLimit === null ? "none" : `${s.purchaseLimit} per person`),
            h(
              "td",
              {},
              h(
                "label",
                { class: "inline" },
                "Qty",
                h("input", { id: qtyId, type: "number", min: 1, max: 999, value: "1", style: "width:4.5em" }),
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "primary",
                  "aria-label": `Add ${s.name} ${specText(s.spec)} to cart`,
                  onclick: () =>
                    addToCart(s.skuId, Number((document.getElementById(qtyId) as HTMLInputElement).value) || 1),
                },
                "Add to cart",
              ),
              (s.saleStartsAt || startsLater) &&
                h("a", { href: `#/flash/${encodeURIComponent(s.skuId)}`, style: "margin-left:8px" }, "Flash sale"),
            ),
          );
        }),
      ),
    ),
  );
}
