// The storefront: hash-routed pages over the public API (products, product, orders, order,
// flash sale), the account box (demo sign-in in development, guest-cart merge, sign out) and
// the live cart drawer (cart.ts).
import type { Order, Product, Sku } from "./api";
import { api, ApiError, identity } from "./api";
import { connectLive, initCart, reloadCart, setCart } from "./cart";
import { countdown, h, money, mount, specText } from "./dom";
import { clearNotice, showError, showOk } from "./notice";

const main = () => document.getElementById("main")!;
let devInfo: { demoUsers: string[] } | null = null;
/** Timers of the page on screen (countdowns, stock refresh), stopped on navigation. */
let timers: number[] = [];
/** Sockets of the page on screen, closed on navigation. */
const cleanups: (() => void)[] = [];
const productCache = new Map<string, Product>();

function every(ms: number, fn: () => void): void {
  fn();
  timers.push(window.setInterval(fn, ms));
}

// ---- account -------------------------------------------------------------------------------

function renderAccount(): void {
  const box = document.getElementById("account")!;
  const user = identity.user();
  if (user) {
    mount(box, h("span", { "data-testid": "signed-in" }, `Signed in as ${user.userId}`), h("button", { type: "button", onclick: signOut }, "Sign out"));
    return;
  }
  if (!devInfo) {
    mount(box, h("span", { class: "muted" }, "Guest"));
    return;
  }
  mount(
    box,
    h(
      "form",
      { class: "account", "aria-label": "Sign in", onsubmit: (e: Event) => { e.preventDefault(); void signIn(); } },
      h("label", {}, "Demo user", h("select", { id: "signin-user" }, devInfo.demoUsers.map((u) => h("option", { value: u }, u)))),
      h(
        "label",
        {},
        "Guest cart on sign-in",
        h("select", { id: "signin-strategy" }, h("option", { value: "sum" }, "add quantities (sum)"), h("option", { value: "max" }, "keep the larger (max)"), h("option", { value: "overwrite" }, "use the guest cart (overwrite)"), h("option", { value: "keep" }, "keep my saved cart (keep)")),
      ),
      h("button", { type: "submit", class: "primary" }, "Sign in"),
    ),
  );
}

async function signIn(): Promise<void> {
  const userId = (document.getElementById("signin-user") as HTMLSelectElement).value;
  const strategy = (document.getElementById("signin-strategy") as HTMLSelectElement).value;
  try {
    const guestCartId = identity.guestCartId();
    const { token } = await api<{ token: string }>("POST", "/v1/dev/token", { userId });
    identity.signIn(userId, token);
    void connectLive(); // closes the guest cart's socket at once; the user's opens when its ticket comes
    const merged = await api<Parameters<typeof setCart>[0] & { merge?: { clamped?: unknown[] } }>("POST", "/v1/cart/merge", { clientCartId: guestCartId, strategy });
    identity.newGuestCart(); // the guest cart is emptied by the merge; signing out starts a fresh one
    setCart(merged);
    showOk(`Signed in as ${userId}; guest cart merged (${strategy})${merged.merge?.clamped?.length ? `, ${merged.merge.clamped.length} line(s) clamped to stock or limit` : ""}.`);
  } catch (err) {
    if (err instanceof ApiError && err.problem.status === 401) identity.signOut();
    showError(err);
  }
  renderAccount();
  await reloadCart();
  void route();
}

async function signOut(): Promise<void> {
  identity.signOut();
  identity.newGuestCart();
  void connectLive();
  renderAccount();
  showOk("Signed out: you have a new guest cart.");
  await reloadCart();
  void route();
}

// ---- pages -----------------------------------------------------------------------------------

function skuState(sku: Sku): string {
  if (sku.status !== "active") return "unavailable";
  if (sku.saleStartsAt && Date.parse(sku.saleStartsAt) > Date.now()) return `sale starts in ${countdown(sku.saleStartsAt)}`;
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

async function gridPage(params: URLSearchParams): Promise<void> {
  const merchant = params.get("merchant") ?? "";
  const cursor = params.get("cursor") ?? "";
  const q = new URLSearchParams({ limit: "12" });
  if (merchant) q.set("merchantId", merchant);
  if (cursor) q.set("cursor", cursor);
  const page = await api<{ items: Product[]; next: string | null }>("GET", `/v1/products?${q}`);
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
      { class: "filters", onsubmit: (e: Event) => { e.preventDefault(); go({ merchant: (document.getElementById("merchant") as HTMLInputElement).value.trim() }); } },
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
          h("span", { class: "price" }, p.priceRange.min === p.priceRange.max ? money(p.priceRange.min, p.priceRange.currency) : `${money(p.priceRange.min, p.priceRange.currency)} – ${money(p.priceRange.max, p.priceRange.currency)}`),
          h("span", { class: "muted" }, `${p.skus.length} variant(s)`),
          p.skus.length === 1 && p.skus[0] && h("button", { type: "button", class: "primary", "aria-label": `Add ${p.name} to cart`, onclick: () => addToCart(p.skus[0]!.skuId, 1) }, "Add to cart"),
        ),
      ),
    ),
    h("nav", { "aria-label": "Pages", class: "filters" }, cursor && h("button", { type: "button", onclick: () => history.back() }, "Previous"), page.next && h("button", { type: "button", onclick: () => go({ merchant, cursor: page.next! }) }, "Next page")),
  );
}

async function findProduct(productId: string): Promise<Product | null> {
  const hit = productCache.get(productId);
  if (hit) return hit;
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) });
    const page = await api<{ items: Product[]; next: string | null }>("GET", `/v1/products?${q}`);
    page.items.forEach((p) => productCache.set(p.productId, p));
    if (productCache.has(productId)) return productCache.get(productId)!;
    cursor = page.next;
  } while (cursor);
  return null;
}

async function productPage(productId: string): Promise<void> {
  const product = await findProduct(productId);
  if (!product) {
    mount(main(), h("h1", {}, "Not found"), h("p", {}, `No product ${productId}.`), h("a", { href: "#/" }, "Back to products"));
    return;
  }
  // Live values (price, stock) from the SKU views; the listing may trail them by the queue delay.
  const skus = await Promise.all(product.skus.map((s) => api<Sku>("GET", `/v1/skus/${encodeURIComponent(s.skuId)}`).catch(() => s)));
  mount(
    main(),
    h("p", {}, h("a", { href: "#/" }, "← Products")),
    h("h1", {}, product.name),
    h("p", { class: "muted" }, `Sold by ${product.merchantId}`),
    h(
      "table",
      {},
      h("caption", { class: "muted", style: "text-align:left" }, "Variants"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Variant"), h("th", { scope: "col" }, "Price"), h("th", { scope: "col" }, "Stock"), h("th", { scope: "col" }, "Limit"), h("th", { scope: "col" }, h("span", { class: "muted" }, "Buy")))),
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
              h("label", { class: "inline" }, "Qty", h("input", { id: qtyId, type: "number", min: 1, max: 999, value: "1", style: "width:4.5em" })),
              h("button", { type: "button", class: "primary", "aria-label": `Add ${s.name} ${specText(s.spec)} to cart`, onclick: () => addToCart(s.skuId, Number((document.getElementById(qtyId) as HTMLInputElement).value) || 1) }, "Add to cart"),
              (s.saleStartsAt || startsLater) && h("a", { href: `#/flash/${encodeURIComponent(s.skuId)}`, style: "margin-left:8px" }, "Flash sale"),
            ),
          );
        }),
      ),
    ),
  );
}

async function ordersPage(): Promise<void> {
  if (!identity.user()) {
    mount(main(), h("h1", {}, "Orders"), h("p", {}, "Sign in to see your orders."));
    return;
  }
  const list = await api<{ items: Order[]; next: string | null }>("GET", "/v1/orders?limit=50");
  mount(
    main(),
    h("h1", {}, "Orders"),
    list.items.length === 0
      ? h("p", {}, "No orders yet.")
      : h(
          "table",
          {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Order"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Total"), h("th", { scope: "col" }, "Placed"))),
          h("tbody", {}, list.items.map((o) => h("tr", { "data-order": o.orderId }, h("td", {}, h("a", { href: `#/orders/${encodeURIComponent(o.orderId)}` }, o.orderId.slice(0, 16) + "…")), h("td", { class: `status ${o.status}` }, o.status), h("td", {}, money(o.total, o.currency)), h("td", {}, o.createdAt ? new Date(o.createdAt).toLocaleString() : "")))),
        ),
  );
}

async function orderPage(orderId: string): Promise<void> {
  const order = await api<Order>("GET", `/v1/orders/${encodeURIComponent(orderId)}`);
  const pending = order.status === "PENDING";
  const left = h("span", { "data-testid": "expires-in" });
  const act = async (what: "cancel" | "pay") => {
    try {
      if (what === "cancel") await api("POST", `/v1/orders/${encodeURIComponent(orderId)}/cancel`);
      else await api("POST", `/v1/dev/orders/${encodeURIComponent(orderId)}/pay`);
      showOk(what === "cancel" ? "Order cancelled; the stock is released." : "Payment sent by the test provider.");
    } catch (err) {
      showError(err);
    }
    await route();
  };
  mount(
    main(),
    h("p", {}, h("a", { href: "#/orders" }, "← Orders")),
    h("h1", {}, "Order"),
    h("p", { class: "muted" }, order.orderId),
    h("p", {}, "Status: ", h("span", { class: `status ${order.status}`, "data-testid": "order-status" }, order.status)),
    pending && h("p", {}, "Pay within ", left, " or the reservation is released."),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Qty"), h("th", { scope: "col" }, "Price"))), h("tbody", {}, order.items.map((i) => h("tr", {}, h("td", {}, i.name, " ", h("span", { class: "muted" }, specText(i.spec))), h("td", {}, String(i.quantity)), h("td", {}, money(i.unitPrice, order.currency)))))),
    h("p", { class: "big" }, money(order.total, order.currency)),
    pending && devInfo && h("button", { type: "button", class: "primary", onclick: () => act("pay") }, "Pay with the test provider"),
    pending && h("button", { type: "button", class: "danger", style: "margin-left:8px", onclick: () => act("cancel") }, "Cancel order"),
  );
  if (pending) {
    every(1000, () => {
      left.textContent = countdown(order.expiresAt);
      if (Date.parse(order.expiresAt) <= Date.now()) void route();
    });
  }
}

/**
 * The flash-sale page. Units left are pushed: the page holds a WebSocket on
 * /v1/skus/{skuId}/live (fed by the queue consumer, about a second behind the SKU actor),
 * and re-reads the SKU view only after its own buys and every 30 s as a safety net.
 */
async function flashPage(skuId: string): Promise<void> {
  let sku = await api<Sku>("GET", `/v1/skus/${encodeURIComponent(skuId)}`);
  const units = h("span", { class: "big", "data-testid": "units-left" }, String(sku.available));
  const clock = h("p", { "data-testid": "sale-countdown" });
  const result = h("div", { "aria-live": "polite", "data-testid": "flash-result" });
  const qty = h("input", { id: "flash-qty", type: "number", min: 1, max: sku.purchaseLimit ?? 999, value: "1", style: "width:4.5em" });
  const buy = h("button", { type: "button", class: "primary", onclick: () => buyNow() }, "Buy now");
  const refresh = async () => {
    if (document.hidden) return;
    try {
      sku = await api<Sku>("GET", `/v1/skus/${encodeURIComponent(skuId)}`);
      units.textContent = String(sku.available);
    } catch {
      /* keep the last value */
    }
  };
  let key = crypto.randomUUID(); // one per intended purchase: a retry after a lost answer gets the same order
  const buyNow = async () => {
    if (!identity.user()) {
      showError(new Error("sign in to buy in a flash sale"));
      return;
    }
    buy.disabled = true;
    try {
      const order = await api<Order>("POST", `/v1/flash/${encodeURIComponent(skuId)}/orders`, { quantity: Number(qty.value) || 1 }, { "idempotency-key": key });
      key = crypto.randomUUID();
      mount(result, h("p", { class: "notice ok" }, "You got it! ", h("a", { href: `#/orders/${encodeURIComponent(order.orderId)}` }, "Pay for your order")));
      clearNotice();
    } catch (err) {
      if (err instanceof ApiError && err.code !== "RATE_LIMITED") key = crypto.randomUUID();
      const code = err instanceof ApiError ? err.code : "";
      const text: Record<string, string> = { SOLD_OUT: "Sold out. Every unit has been taken.", LIMIT_EXCEEDED: "You already have as many as one person may buy.", RATE_LIMITED: "Lots of people are trying right now: wait a moment and try again.", SALE_NOT_STARTED: "Not yet: the sale has not started." };
      mount(result, h("p", { class: "notice", "data-code": code }, h("strong", {}, text[code] ?? "Could not buy."), " "));
      showError(err);
    } finally {
      buy.disabled = false;
      void refresh();
    }
  };
  mount(
    main(),
    h("p", {}, h("a", { href: "#/" }, "← Products")),
    h("h1", {}, `Flash sale: ${sku.name}`),
    h("p", { class: "muted" }, specText(sku.spec)),
    h("p", { class: "price big" }, money(sku.price, sku.currency)),
    h("p", {}, units, " units left ", h("span", { class: "muted" }, "(live)")),
    clock,
    sku.purchaseLimit !== null && h("p", {}, `Limit ${sku.purchaseLimit} per person.`),
    h("label", { class: "inline" }, "Quantity", qty),
    buy,
    result,
  );
  every(30_000, () => void refresh());
  watchStock(skuId, (update) => {
    sku = { ...sku, ...update };
    units.textContent = String(update.available);
  });
  every(1000, () => {
    const starts = sku.saleStartsAt ? Date.parse(sku.saleStartsAt) : 0;
    clock.textContent = starts > Date.now() ? `Sale starts in ${countdown(sku.saleStartsAt!)}` : "The sale is on.";
    buy.disabled = starts > Date.now();
  });
}

/** The SKU's live stock socket, closed when the page changes; it reconnects after a drop. */
function watchStock(skuId: string, onUpdate: (u: Pick<Sku, "available" | "status" | "price" | "saleStartsAt">) => void): void {
  let closed = false;
  let ws: WebSocket | null = null;
  const open = () => {
    const url = new URL(`/v1/skus/${encodeURIComponent(skuId)}/live`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    ws = new WebSocket(url);
    ws.addEventListener("open", () => (document.body.dataset.stockLive = "on"));
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
      const msg = JSON.parse(e.data) as { type: string; skuId: string; available: number; status: Sku["status"]; price: number; saleStartsAt: string | null };
      if (msg.type === "stock" && msg.skuId === skuId) onUpdate(msg);
    });
    ws.addEventListener("close", () => {
      document.body.dataset.stockLive = "off";
      if (!closed) setTimeout(() => !closed && open(), 2000);
    });
  };
  open();
  cleanups.push(() => {
    closed = true;
    ws?.close(1000);
  });
}

// ---- router -----------------------------------------------------------------------------------

async function route(): Promise<void> {
  timers.forEach((t) => clearInterval(t));
  timers = [];
  cleanups.splice(0).forEach((f) => f());
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts.length === 0) await gridPage(new URLSearchParams(query));
    else if (parts[0] === "p" && parts[1]) await productPage(parts[1]);
    else if (parts[0] === "orders" && parts[1]) await orderPage(parts[1]);
    else if (parts[0] === "orders") await ordersPage();
    else if (parts[0] === "flash" && parts[1]) await flashPage(parts[1]);
    else mount(main(), h("h1", {}, "Not found"), h("a", { href: "#/" }, "Back to products"));
  } catch (err) {
    showError(err);
    mount(main(), h("h1", {}, "This page could not be loaded"), h("p", {}, (err as Error).message));
  }
  document.body.dataset.ready = "true";
}

async function start(): Promise<void> {
  devInfo = await api<{ demoUsers: string[] }>("GET", "/v1/dev").catch(() => null);
  renderAccount();
  initCart((order) => (location.hash = `#/orders/${encodeURIComponent(order.orderId)}`));
  window.addEventListener("hashchange", () => {
    clearNotice();
    void route();
  });
  await Promise.all([reloadCart(), route()]);
  void connectLive();
}

void start();
