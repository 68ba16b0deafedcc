/**
 * The OpenAPI document, built from the same operations and zod schemas that
 * serve the requests, and the fallback page of the interactive reference.
 */
import { z } from "zod";
import type { ProblemCode } from "../domain/errors";
import { STATUS_OF } from "../domain/errors";
import { SchemaComponents } from "./openapi-schemas";
import { TITLES as PROBLEM_TITLES, problemType } from "./problem";

/** Who may call an operation. */
export type Access = "none" | "cart" | "user" | "admin" | "webhook" | "stripe";

export interface Operation<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodObject | undefined = z.ZodObject | undefined,
  P extends z.ZodObject | undefined = z.ZodObject | undefined,
> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: /v1/cart/items/{skuId} */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  /** Buy paths (add to cart, checkout, flash buy) are rate limited per buyer. */
  rateLimited?: boolean;
  /** Header parameters worth documenting (Idempotency-Key, If-Match, X-Cart-Version). */
  headers?: { name: string; required: boolean; description: string }[];
  params?: P;
  query?: Q;
  body?: B;
  /** When true an empty body is accepted and validated as {}. */
  bodyOptional?: boolean;
  ok: { status: number; description: string; schema?: z.ZodType };
  /** Problem codes this operation can answer with (besides validation). */
  problems?: ProblemCode[];
}

/** Every operation the app serves, in registration order; the OpenAPI document is built from it. */
export const operations: Operation[] = [];

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z
      .array(
        z.looseObject({
          code: z.string(),
          skuId: z.string().optional(),
          path: z.string().optional(),
          message: z.string().optional(),
          // A line's refusal (OUT_OF_STOCK, SOLD_OUT, LIMIT_EXCEEDED, SALE_NOT_STARTED):
          requested: z.number().int().optional(),
          available: z.number().int().optional(),
          limit: z.number().int().optional(),
          saleStartsAt: z.string().optional(),
          // A promotion's refusal: the code, and for PROMOTION_NOT_APPLICABLE the unmet condition and its terms.
          promotionCode: z.string().optional(),
          condition: z.string().optional(),
          minSubtotal: z.number().int().optional(),
          currency: z.string().optional(),
          startsAt: z.string().optional(),
        }),
      )
      .optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: "Problem" });

/** Public operations say so with `security: []`: the document declares no global requirement. */
const SECURITY: Record<Access, Record<string, string[]>[]> = {
  none: [],
  cart: [{ userJwt: [] }, { guestCart: [] }],
  user: [{ userJwt: [] }],
  admin: [{ adminToken: [] }],
  webhook: [{ paymentSignature: [] }],
  stripe: [{ stripeSignature: [] }],
};

const TAGS = [
  { name: "Catalog", description: "SKUs (admin) and the public catalog" },
  { name: "Cart", description: "The guest or user cart: every mutation returns the whole cart and bumps `version`" },
  { name: "Promotions", description: "Discount codes and automatic promotions (admin); a cart's code is under Cart" },
  { name: "Checkout", description: "Checkout of cart lines and flash-sale buy-now; both create a PENDING order" },
  { name: "Orders", description: "The caller's orders" },
  {
    name: "Payments",
    description:
      "The payment providers' signed webhooks (the provider-neutral one and Stripe's), the order's Stripe PaymentIntent, and the storefront's payment settings",
  },
  { name: "Operations", description: "Health, sync and inventory reconciliation" },
];

/** A response example for one problem code (what `problem()` in problem.ts sends). */
function problemExample(code: ProblemCode): Record<string, unknown> {
  return {
    type: problemType(code),
    title: PROBLEM_TITLES[code],
    status: STATUS_OF[code],
    detail: PROBLEM_DETAILS[code] ?? PROBLEM_TITLES[code],
    code,
    ...(code === "VALIDATION_FAILED"
      ? { errors: [{ code: "too_small", path: "body.quantity", message: "Too small: expected number to be >=1" }] }
      : {}),
    ...(code === "OUT_OF_STOCK" || code === "SOLD_OUT"
      ? { errors: [{ skuId: "tee-red-m", code, requested: 3, available: 1 }] }
      : {}),
    ...(code === "LIMIT_EXCEEDED" ? { errors: [{ skuId: "grinder-flash", code, requested: 3, limit: 2 }] } : {}),
    ...(code === "SALE_NOT_STARTED"
      ? { errors: [{ skuId: "kettle-flash", code, saleStartsAt: "2026-05-01T09:00:00.000Z" }] }
      : {}),
    ...(code === "PROMOTION_NOT_APPLICABLE"
      ? {
          errors: [{ code, promotionCode: "SAVE5", condition: "min_subtotal", minSubtotal: 5000, currency: "USD" }],
        }
      : {}),
    requestId: "5b0f3c9e-2d7a-4b1e-9a55-0c8f7e6d1a23",
  };
}

const PROBLEM_DETAILS: Partial<Record<ProblemCode, string>> = {
  VALIDATION_FAILED: "the body is not valid",
  UNAUTHORIZED: "send Authorization: Bearer <JWT> or X-Cart-Id: <uuid>",
  FORBIDDEN: "the admin API is refused until ADMIN_TOKEN is set",
  NOT_FOUND: "no such order",
  OUT_OF_STOCK: "not enough stock for 1 line",
  SOLD_OUT: "sold out",
  LIMIT_EXCEEDED: "at most 2 per customer",
  SALE_NOT_STARTED: "the sale of SKU kettle-flash opens at 2026-05-01T09:00:00.000Z",
  RATE_LIMITED: "too many buy requests; retry in 10 s",
  PAYLOAD_TOO_LARGE: "the body is larger than 65536 bytes",
  UNSUPPORTED_MEDIA_TYPE: "send the body as application/json",
  VERSION_CONFLICT: "the cart is at version 8, If-Match said 7",
  IDEMPOTENCY_KEY_REUSED: "this Idempotency-Key was used with another body",
  PAYMENT_REFUSED:
    "Stripe refuses the payment (Amount must be no more than $999,999.99); the order is cancelled and its stock released",
  DEPENDENCY_UNAVAILABLE: "the order listing is unavailable right now (its store does not answer); retry shortly",
  OVERLOADED: "the service is at capacity; nothing was done, retry in a second",
  PROMOTION_NOT_APPLICABLE: "the subtotal 3998 is below the minimum 5000",
};

export function openApiDocument(): Record<string, unknown> {
  const schemas = new SchemaComponents();
  schemas.add("Problem", ProblemSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ["path", op.params],
      ["query", op.query],
    ] as const) {
      if (!schema) continue;
      for (const [name, field] of Object.entries(schema.shape)) {
        const fieldSchema = field as z.ZodType;
        const json = schemas.of(fieldSchema, "input");
        parameters.push({
          name,
          in: where,
          required: where === "path" || !fieldSchema.safeParse(undefined).success,
          schema: json,
          example: schemas.example(json),
        });
      }
    }
    for (const h of op.headers ?? [])
      parameters.push({
        name: h.name,
        in: "header",
        required: h.required,
        description: h.description,
        schema: { type: "string" },
      });
    const responses: Record<string, unknown> = {};
    if (op.ok.schema) {
      const json = schemas.of(op.ok.schema, "output");
      responses[op.ok.status] = {
        description: op.ok.description,
        content: { "application/json": { schema: json, example: schemas.example(json) } },
      };
    } else {
      responses[op.ok.status] = { description: op.ok.description };
    }
    const codes = new Set<ProblemCode>(["VALIDATION_FAILED", ...(op.problems ?? [])]);
    // A user token is checked against the identity provider's key set, which may not answer (src/http/user-tokens.ts).
    if (op.access === "cart" || op.access === "user") codes.add("UNAUTHORIZED").add("DEPENDENCY_UNAVAILABLE");
    if (op.access === "admin") codes.add("UNAUTHORIZED").add("FORBIDDEN");
    if (op.rateLimited) codes.add("RATE_LIMITED");
    if (op.body) codes.add("PAYLOAD_TOO_LARGE").add("UNSUPPORTED_MEDIA_TYPE");
    // Past capacity any request but the health check is refused 503 with Retry-After (src/http/admission.ts).
    if (op.path !== "/healthz") codes.add("OVERLOADED");
    const byStatus = new Map<number, ProblemCode[]>();
    for (const code of codes) byStatus.set(STATUS_OF[code], [...(byStatus.get(STATUS_OF[code]) ?? []), code]);
    for (const [status, list] of byStatus) {
      responses[status] = {
        description: list.join(", "),
        ...(status === 429 || status === 503
          ? {
              headers: {
                "Retry-After": { description: "seconds to wait before retrying", schema: { type: "integer" } },
              },
            }
          : {}),
        content: {
          "application/problem+json": {
            schema: { $ref: "#/components/schemas/Problem" },
            examples: Object.fromEntries(
              list.map((code) => [code, { summary: PROBLEM_TITLES[code], value: problemExample(code) }]),
            ),
          },
        },
      };
    }
    let requestBody: unknown;
    if (op.body) {
      const json = schemas.of(op.body, "input");
      requestBody = {
        required: !op.bodyOptional,
        content: { "application/json": { schema: json, example: schemas.example(json) } },
      };
    }
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: operationId(op),
      security: SECURITY[op.access],
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-cart",
      version: "1.0.0",
      summary: "Shopping cart, checkout and flash-sale inventory at the edge",
      description:
        "Errors are RFC 9457 problem+json with a machine-readable `code`; " +
        `problem types are URNs like \`${problemType("OUT_OF_STOCK")}\`. Money is an integer in minor units plus an ISO 4217 currency. ` +
        "The contract in prose is docs/API.md in the repository.",
      // The repository's LICENSE; package.json says the same.
      license: { name: "MIT", identifier: "MIT" },
    },
    // Relative: the API is served by the same Worker as this document, locally (npm run dev) and in production.
    servers: [
      {
        url: "/",
        description: "this deployment (the origin serving this document; http://localhost:8787 under npm run dev)",
      },
    ],
    tags: TAGS,
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: {
        userJwt: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "A JWT from the identity provider, verified against its key set (JWT_JWKS_URL: RS256, ES256 or EdDSA; `iss` must be JWT_ISSUER and `aud` name JWT_AUDIENCE), or in development HS256 signed with JWT_SECRET. `sub` is the user id; `exp` is required; 30 s of clock skew is allowed.",
        },
        guestCart: {
          type: "apiKey",
          in: "header",
          name: "X-Cart-Id",
          description: "A guest cart id (UUID) the client keeps in localStorage.",
        },
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
        paymentSignature: {
          type: "apiKey",
          in: "header",
          name: "Payment-Signature",
          description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
        },
        stripeSignature: {
          type: "apiKey",
          in: "header",
          name: "Stripe-Signature",
          description:
            'Stripe\'s signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with STRIPE_WEBHOOK_SECRET>[,v1=...]',
        },
      },
    },
  };
}

function operationId(op: Operation): string {
  return `${op.method}${op.path.replace(/[{}]/g, "").replace(/[/-](\w)/g, (_, ch: string) => ch.toUpperCase())}`;
}

/** Where the interactive reference lives: a static asset of the Worker (public/docs/, built by dev/docs-assets.ts). */
export const DOCS_PATH = "/docs/";

/** Answers /docs when the static reference UI was not built (a Worker run without the assets). */
export function docsFallbackPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8" /><title>edge-cart API reference</title></head>
<body>
  <p>The interactive reference is a static asset that is not built here: run <code>npm run docs:build</code> (wrangler dev and deploy run it).</p>
  <p>The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>; the contract in prose is <code>docs/API.md</code>.</p>
</body>
</html>`;
}
