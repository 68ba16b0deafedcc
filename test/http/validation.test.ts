import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderItems } from "../../src/db/tables";
import { ADMIN, api, asGuest, asUser, checkout, db, eventually, putSku, signWebhook, unique } from "../support/worker";
import type { Reply } from "../support/worker";

const sku = (skuId: string, fields: Record<string, unknown>) =>
  api(`/v1/admin/skus/${skuId}`, {
    method: "PUT",
    headers: ADMIN,
    body: {
      productId: `p-${skuId}`,
      name: "Plain",
      merchantId: "m-1",
      price: 1000,
      status: "active",
      stock: 10,
      ...fields,
    },
  });

function expectValidationProblem(res: Reply, path?: string): void {
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe("VALIDATION_FAILED");
  if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
}

describe("text fields refuse control characters", () => {
  it("refuses NUL and other control characters in every SKU text field, spec included", async () => {
    const id = unique("nul");
    expectValidationProblem(await sku(id, { name: "Bad\u0000Name" }), "body.name");
    expectValidationProblem(await sku(id, { productId: "p\u0000" }), "body.productId");
    expectValidationProblem(await sku(id, { merchantId: "m\u001b[0m" }), "body.merchantId");
    expectValidationProblem(await sku(id, { spec: { color: "Red\u0000" } }));
    expectValidationProblem(await sku(id, { spec: { "col\u0000or": "Red" } }));
    expectValidationProblem(await sku(id, { spec: "Red\u0000/ M" }));
    expectValidationProblem(await sku(id, { name: "lone \ud800 surrogate" }), "body.name");
    expectValidationProblem(await sku(id, { name: "bell\u0007" }), "body.name");
    // nothing was created
    expect((await api(`/v1/admin/skus/${id}`, { headers: ADMIN })).status).toBe(404);
    // ordinary unicode is fine
    expect((await sku(id, { name: "Café ☕ 🚀 Größe" })).status).toBe(201);
  });

  it("image is an https: URL only", async () => {
    const id = unique("img");
    for (const image of [
      "javascript:alert(1)",
      "data:image/png;base64,AAAA",
      "http://img.test/a.png",
      "ftp://img.test/a.png",
      "https:img.test",
      "not a url",
    ]) {
      expectValidationProblem(await sku(id, { image }), "body.image");
    }
    expect((await sku(id, { image: "https://img.test/a.png" })).status).toBe(201);
  });

  it("query parameters are validated: bad input is 400, never 5xx", async () => {
    for (const query of [
      "cursor=%00",
      "merchantId=a%00b",
      "merchantId=%1B",
      `cursor=${"x".repeat(300)}`,
      "limit=abc",
      "limit=0",
      "limit=101",
    ]) {
      const res = await api(`/v1/products?${query}`);
      expectValidationProblem(res);
    }
    const user = await asUser();
    expectValidationProblem(await api("/v1/orders?cursor=%00", { headers: user.headers }));
  });

  it("admin cart keys follow the public rules: guest ids are UUIDs, user ids the JWT sub rules", async () => {
    for (const key of [
      "guest:------------------------------------",
      "guest:not-a-uuid",
      "user:",
      "user:a b",
      "user:a%00b",
      "nobody:x",
      `user:${"u".repeat(129)}`,
    ]) {
      const res = await api(`/v1/admin/carts/${encodeURIComponent(key)}/sync`, { method: "POST", headers: ADMIN });
      expectValidationProblem(res);
    }
    const guest = crypto.randomUUID();
    expect((await api(`/v1/admin/carts/guest:${guest}/sync`, { method: "POST", headers: ADMIN })).status).toBe(200);
  });
});

describe("spec is a label or attributes, shown as given", () => {
  it("a spec given as a free-text label or as an object is shown as given in the cart, the order and Postgres", async () => {
    const label = await putSku(unique("lbl"), { spec: "Red / M" });
    const attrs = await putSku(unique("att"), { spec: { color: "Red", size: "M" } });
    expect((await api(`/v1/skus/${label}`)).body.spec).toBe("Red / M");
    const user = await asUser();
    for (const skuId of [label, attrs]) {
      expect((await api("/v1/cart/items", { headers: user.headers, body: { skuId, quantity: 1 } })).status).toBe(200);
    }
    const cart = await api("/v1/cart", { headers: user.headers });
    expect(cart.body.items.map((i: { spec: unknown }) => i.spec)).toEqual(["Red / M", { color: "Red", size: "M" }]);
    const placed = await checkout(user.headers);
    expect(placed.status).toBe(201);
    expect(placed.body.items.map((i: { spec: unknown }) => i.spec)).toEqual(["Red / M", { color: "Red", size: "M" }]);
    const rows = await eventually(
      async () => {
        const found = await db((d) => d.select().from(orderItems).where(eq(orderItems.orderId, placed.body.orderId)));
        return found.length === 2 && found;
      },
      20_000,
      "order items in Postgres",
    );
    expect(Object.fromEntries(rows.map((r) => [r.skuId, r.spec]))).toEqual({
      [label]: "Red / M",
      [attrs]: { color: "Red", size: "M" },
    });
  });
});

// ---- fuzz ------------------------------------------------------------------------------------

/** A small seeded PRNG (mulberry32), so a failure replays exactly. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONTROL = ["\u0000", "\u0001", "\u0007", "\u0008", "\u001b", "\u001f", "\u007f", "\u0085", "\u009f"];
/** Values no text field accepts. */
const BAD_TEXT: unknown[] = [
  ...CONTROL.map((c) => `a${c}b`),
  "\ud800",
  "x\udfffy",
  "",
  "   ",
  "y".repeat(5_000),
  42,
  -1,
  true,
  [],
  ["a"],
  { a: 1 },
];
/** Values no integer field accepts. */
const BAD_INT: unknown[] = [
  "1",
  "",
  "\u0000",
  1.5,
  -1,
  1e20,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  null,
  [],
  {},
  "NaN",
  1e-9,
];
const BAD_ID: unknown[] = ["", "a b", "a\u0000", "-x", "x".repeat(200), 7, null, ["a"], "é", "a/b", "\ud800"];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

interface Case {
  what: string;
  path: string;
  method: string;
  headers?: Record<string, string>;
  /** A string is sent as is (raw JSON text); anything else is JSON-encoded. */
  body?: unknown;
  /** Sign the raw body as the payment provider does. */
  sign?: boolean;
}

async function send(c: Case): Promise<Reply> {
  const raw = c.body === undefined ? undefined : typeof c.body === "string" ? c.body : JSON.stringify(c.body);
  const headers = { ...c.headers };
  if (c.sign && raw !== undefined) headers["payment-signature"] = await signWebhook(raw);
  return api(c.path, { method: c.method, headers, body: raw });
}

function fuzzCases(user: Record<string, string>, guest: Record<string, string>, skuId: string): Case[] {
  const rand = prng(20261122);
  const cases: Case[] = [];
  const validSku = { productId: "p", name: "n", merchantId: "m", price: 100, status: "active", stock: 1 };
  const skuFields: Record<string, unknown[]> = {
    productId: BAD_TEXT,
    name: BAD_TEXT,
    merchantId: BAD_TEXT,
    image: [...BAD_TEXT, "javascript:alert(1)", "data:text/html,x", "http://a.test/x"],
    spec: [
      ...BAD_TEXT.filter(
        (v) =>
          typeof v !== "string" || v === "" || v.length > 1000 || /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/.test(v),
      ),
      { k: "\u0000" },
      { "\u0000": "v" },
      { k: 1 },
    ],
    price: BAD_INT,
    currency: [...BAD_TEXT, "usd", "US", "EURO"],
    status: [...BAD_TEXT, "ACTIVE", "deleted"],
    stock: BAD_INT,
    purchaseLimit: BAD_INT.filter((v) => v !== null),
    stripes: [...BAD_INT.filter((v) => v !== null), 0, 65],
    saleStartsAt: ["yesterday", "\u0000", 5, "2026-13-45T99:99:99Z"],
  };
  for (const [field, values] of Object.entries(skuFields)) {
    for (const value of values) {
      cases.push({
        what: `PUT sku ${field}=${JSON.stringify(value).slice(0, 40)}`,
        method: "PUT",
        path: `/v1/admin/skus/${unique("fz")}`,
        headers: ADMIN,
        body: { ...validSku, [field]: value },
      });
    }
  }
  // raw JSON text: lone surrogate escapes, invalid JSON, wrong top-level types
  const rawBodies = [
    '{"name":"\\ud800"',
    '{"skuId":"\\udc00x","quantity":1}',
    "[]",
    "null",
    "42",
    '"str"',
    "{",
    '{"a":1,}',
    "\u0000",
    '{"skuId":"a","quantity":1,"extra":true}',
    "[".repeat(5000),
  ];
  const bodyRoutes: [string, string, Record<string, string>][] = [
    ["POST", "/v1/cart/items", guest],
    ["PATCH", `/v1/cart/items/${skuId}`, guest],
    ["POST", "/v1/cart/items/batch-delete", guest],
    ["POST", "/v1/cart/select", guest],
    ["POST", "/v1/cart/merge", user],
    ["PUT", `/v1/admin/skus/${skuId}`, ADMIN],
    ["POST", "/v1/checkout", { ...guest, "idempotency-key": "fuzz-raw" }],
    ["POST", `/v1/flash/${skuId}/orders`, { ...user, "idempotency-key": "fuzz-raw" }],
  ];
  for (const [method, path, headers] of bodyRoutes) {
    for (const body of rawBodies)
      cases.push({ what: `${method} ${path} raw ${body.slice(0, 20)}`, method, path, headers, body });
  }
  // random wrong values in the body of every public route
  const shapes: [string, string, Record<string, string>, () => unknown][] = [
    [
      "POST",
      "/v1/cart/items",
      guest,
      () => ({ skuId: rand() < 0.5 ? pick(rand, BAD_ID) : skuId, quantity: rand() < 0.5 ? pick(rand, BAD_INT) : 1000 }),
    ],
    [
      "PATCH",
      `/v1/cart/items/${skuId}`,
      guest,
      () => (rand() < 0.5 ? { quantity: pick(rand, BAD_INT) } : { selected: pick(rand, BAD_TEXT) }),
    ],
    [
      "POST",
      "/v1/cart/items/batch-delete",
      guest,
      () => ({ skuIds: rand() < 0.5 ? [pick(rand, BAD_ID)] : pick(rand, BAD_TEXT) }),
    ],
    ["POST", "/v1/cart/select", guest, () => ({ selected: true, merchantId: pick(rand, BAD_TEXT) })],
    [
      "POST",
      "/v1/cart/merge",
      user,
      () => ({ clientCartId: pick(rand, [...BAD_TEXT, "------------------------------------"]), strategy: "sum" }),
    ],
    [
      "POST",
      "/v1/checkout",
      guest,
      () => ({
        skuIds: [pick(rand, BAD_ID)],
        expectedTotal: pick(
          rand,
          BAD_INT.filter((v) => v !== null),
        ),
      }),
    ],
    ["POST", `/v1/flash/${skuId}/orders`, user, () => ({ quantity: pick(rand, BAD_INT) })],
    [
      "POST",
      "/v1/payments/webhook",
      {},
      () => ({
        eventId: pick(rand, BAD_TEXT),
        type: "payment.succeeded",
        orderId: pick(rand, BAD_TEXT),
        transactionId: "tx",
        amount: 1,
        currency: "USD",
      }),
    ],
  ];
  for (const [method, path, headers, make] of shapes) {
    for (let i = 0; i < 16; i++) {
      const keyed =
        path === "/v1/checkout" || path.startsWith("/v1/flash")
          ? { ...headers, "idempotency-key": `fuzz-${i}` }
          : headers;
      cases.push({
        what: `${method} ${path} #${i}`,
        method,
        path,
        headers: keyed,
        body: make(),
        sign: path === "/v1/payments/webhook",
      });
    }
  }
  // query and path parameters
  const badQuery = ["%00", "a%00b", "%01", "%1B%5B0m", "%7F", "%C2%85", "x".repeat(300)];
  for (const v of badQuery) {
    cases.push({ what: `products cursor=${v.slice(0, 12)}`, method: "GET", path: `/v1/products?cursor=${v}` });
    cases.push({ what: `products merchantId=${v.slice(0, 12)}`, method: "GET", path: `/v1/products?merchantId=${v}` });
    cases.push({
      what: `orders cursor=${v.slice(0, 12)}`,
      method: "GET",
      path: `/v1/orders?cursor=${v}`,
      headers: user,
    });
    cases.push({ what: `live ticket=${v.slice(0, 12)}`, method: "GET", path: `/v1/cart/live?ticket=${v}` });
  }
  for (const v of ["abc", "0", "-1", "1.5", "1e9", "%00", "", "101"])
    cases.push({ what: `products limit=${v}`, method: "GET", path: `/v1/products?limit=${v}` });
  for (const v of ["%00", "a%20b", "-x", "x".repeat(200), "%C3%A9", "%ED%A0%80", "..", "a%2Fb"]) {
    cases.push({ what: `GET sku ${v.slice(0, 12)}`, method: "GET", path: `/v1/skus/${v}` });
    cases.push({ what: `GET admin sku ${v.slice(0, 12)}`, method: "GET", path: `/v1/admin/skus/${v}`, headers: ADMIN });
    cases.push({
      what: `PATCH line ${v.slice(0, 12)}`,
      method: "PATCH",
      path: `/v1/cart/items/${v}`,
      headers: guest,
      body: { quantity: 1 },
    });
    cases.push({
      what: `DELETE line ${v.slice(0, 12)}`,
      method: "DELETE",
      path: `/v1/cart/items/${v}`,
      headers: guest,
    });
    cases.push({
      what: `flash ${v.slice(0, 12)}`,
      method: "POST",
      path: `/v1/flash/${v}/orders`,
      headers: { ...user, "idempotency-key": "k" },
      body: { quantity: 1 },
    });
    cases.push({
      what: `sync cart ${v.slice(0, 12)}`,
      method: "POST",
      path: `/v1/admin/carts/guest:${v}/sync`,
      headers: ADMIN,
    });
    cases.push({ what: `GET order ${v.slice(0, 12)}`, method: "GET", path: `/v1/orders/${v}`, headers: user });
    cases.push({
      what: `cancel order ${v.slice(0, 12)}`,
      method: "POST",
      path: `/v1/orders/${v}/cancel`,
      headers: user,
    });
  }
  // bodies over the 64 KiB limit
  for (const [method, path, headers] of bodyRoutes)
    cases.push({ what: `${method} ${path} 70 KiB`, method, path, headers, body: { skuId: "z".repeat(70_000) } });
  // malformed headers
  for (const id of ["not-a-uuid", "\u0001", "x".repeat(500), "------------------------------------", "{}"]) {
    cases.push({ what: `X-Cart-Id ${id.slice(0, 12)}`, method: "GET", path: "/v1/cart", headers: { "x-cart-id": id } });
  }
  for (const auth of ["Bearer", "Bearer a.b.c", "Basic abc", "Bearer \u0001", `Bearer ${"x".repeat(5000)}`]) {
    cases.push({
      what: `Authorization ${auth.slice(0, 12)}`,
      method: "GET",
      path: "/v1/cart",
      headers: { authorization: auth },
    });
  }
  for (const m of ["x", "-1", "\u0001", "99999999999999999999", 'W/"abc"']) {
    cases.push({
      what: `If-Match ${m}`,
      method: "PATCH",
      path: `/v1/cart/items/${skuId}`,
      headers: { ...guest, "if-match": m },
      body: { quantity: 1 },
    });
  }
  return cases;
}

describe("fuzz", () => {
  it("answers every malformed request with a 4xx problem+json, never a 5xx", async () => {
    const skuId = await putSku(unique("fz"), { stock: 5 });
    const user = await asUser();
    const cases = fuzzCases(user.headers, asGuest().headers, skuId);
    const failures: string[] = [];
    for (let i = 0; i < cases.length; i += 8) {
      await Promise.all(
        cases.slice(i, i + 8).map(async (c) => {
          const res = await send(c);
          const type = res.headers.get("content-type") ?? "";
          if (res.status < 400 || res.status >= 500 || !type.startsWith("application/problem+json"))
            failures.push(`${c.what}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
        }),
      );
    }
    console.log(`fuzz: ${cases.length} malformed requests`);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(failures).toEqual([]);
  });
});
