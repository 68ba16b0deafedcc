// The public API as the storefront calls it: identity (guest cart id or a signed-in user's
// token, kept in localStorage), JSON requests, and problem+json answers turned into errors
// that carry the problem's title and detail for the person reading the page.
import type { components, operations } from "./api-types";
import { promotionSentence } from "./discounts";

// The API's shapes, generated from its OpenAPI document into api-types.ts (`npm run api:types`).
type Schemas = components["schemas"];
/** The JSON body of an operation's 200 answer. */
type Answer<Op extends keyof operations> = operations[Op]["responses"] extends {
  200: { content: { "application/json": infer Body } };
}
  ? Body
  : never;

/** A problem+json answer; the storefront makes one itself for a network error (no type, code or detail). */
export type Problem = Partial<Schemas["Problem"]> & Pick<Schemas["Problem"], "title" | "status">;

export type Cart = Schemas["Cart"];
export type Line = Cart["items"][number];

export type ProductPage = Answer<"getV1Products">;
export type Product = ProductPage["items"][number];
/** A SKU as the product listing shows it; GET /v1/skus/{skuId} answers the same and its version. */
export type Sku = Product["skus"][number];

/** What checkout and flash buy answer. */
export type PlacedOrder = Schemas["PlacedOrder"];
/** An order as its owner reads it. */
export type Order = Schemas["Order"];
export type OrderPage = Answer<"getV1Orders">;
/** The user's cart after a guest cart was merged into it, and what the merge did. */
export type MergeResult = Answer<"postV1CartMerge">;
export type LiveTicket = Answer<"postV1CartLiveTicket">;
export type PaymentConfig = Answer<"getV1PaymentsConfig">;
export type PaymentIntent = Answer<"postV1OrdersOrderIdPaymentIntent">;

export class ApiError extends Error {
  constructor(
    readonly problem: Problem,
    readonly retryAfter: number | null,
  ) {
    super(`${problem.title}: ${problem.detail ?? ""}`);
  }
  get code(): string {
    return this.problem.code ?? "";
  }
}

const KEY = { cartId: "edgeCart.guestCartId", token: "edgeCart.token", user: "edgeCart.userId" };

export const identity = {
  guestCartId(): string {
    let id = localStorage.getItem(KEY.cartId);
    if (!id) {
      id = crypto.randomUUID();
      localStorage.setItem(KEY.cartId, id);
    }
    return id;
  },
  newGuestCart(): void {
    localStorage.setItem(KEY.cartId, crypto.randomUUID());
  },
  user(): { userId: string; token: string } | null {
    const token = localStorage.getItem(KEY.token);
    const userId = localStorage.getItem(KEY.user);
    return token && userId ? { userId, token } : null;
  },
  signIn(userId: string, token: string): void {
    localStorage.setItem(KEY.token, token);
    localStorage.setItem(KEY.user, userId);
  },
  /** The id of the cart this identity reads (the API's `user:{id}` or `guest:{clientCartId}`). */
  cartId(): string {
    const user = this.user();
    return user ? `user:${user.userId}` : `guest:${this.guestCartId()}`;
  },
  signOut(): void {
    localStorage.removeItem(KEY.token);
    localStorage.removeItem(KEY.user);
  },
  headers(): Record<string, string> {
    const user = this.user();
    return user ? { authorization: `Bearer ${user.token}` } : { "x-cart-id": this.guestCartId() };
  },
};

/** Reads are retried on 503 after its Retry-After (load shed, or a cart busy past its read deadline): they did nothing. */
const READ_RETRIES = 3;

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request<T>(method, path, body, headers);
    } catch (err) {
      if (!(method === "GET" && err instanceof ApiError && err.problem.status === 503 && attempt < READ_RETRIES))
        throw err;
      await new Promise((r) => setTimeout(r, Math.min(5, err.retryAfter ?? 1) * 1000));
    }
  }
}

/**
 * One API call. `null` for a 304 (a conditional read the caller asked for: it keeps what it has).
 * The browser's HTTP cache stays out of it: it keys by URL alone, so a cart read revalidated by
 * the browser itself could be answered with another identity's cart at the same version.
 */
async function request<T>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<T> {
  const init: RequestInit = {
    method,
    cache: "no-store",
    headers: { accept: "application/json", ...identity.headers(), ...headers },
  };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(
      {
        title: "Network error",
        status: 0,
        detail: "the shop could not be reached; check the connection and try again",
      },
      null,
    );
  }
  if (res.status === 304) return null as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const p = (
      json && typeof json === "object" && "title" in json
        ? json
        : { title: res.statusText || "Request failed", status: res.status, detail: text.slice(0, 200) }
    ) as Problem;
    const ra = res.headers.get("retry-after");
    throw new ApiError(p, ra ? Number(ra) : null);
  }
  return json as T;
}

/** Words a shopper understands for the refusals they can meet; the problem's own detail follows. */
export function friendly(err: unknown): { title: string; detail: string } {
  if (!(err instanceof ApiError))
    return { title: "Something went wrong", detail: err instanceof Error ? err.message : String(err) };
  const p = err.problem;
  const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
  const human: Record<string, string> = {
    SOLD_OUT: "Sold out: every unit of this sale is taken.",
    OUT_OF_STOCK: "Not enough stock for what you asked.",
    LIMIT_EXCEEDED: "You have reached the purchase limit for this item.",
    RATE_LIMITED: "Too many tries in a short time." + wait,
    SALE_NOT_STARTED: "The sale has not started yet.",
    PRICE_CHANGED: "A price changed since you looked: check the cart and try again.",
  };
  // A promotion's refusal is said whole by its own sentence (its detail speaks in minor units).
  const promotion = p.code ? promotionSentence({ ...p.errors?.[0], code: p.code, detail: p.detail ?? "" }) : null;
  if (promotion) return { title: p.title, detail: promotion };
  const lead = (p.code && human[p.code]) || "";
  return { title: p.title, detail: [lead, p.detail].filter(Boolean).join(" ") };
}
