import { z } from "zod";
import type { ProblemCode } from "../domain/errors";
import { STATUS_OF } from "../domain/errors";
import { problemType } from "./problem";

/** Who may call an operation. */
export type Access = "none" | "cart" | "user" | "admin" | "webhook";

export interface Operation<B extends z.ZodType | undefined = z.ZodType | undefined, Q extends z.ZodObject | undefined = z.ZodObject | undefined, P extends z.ZodObject | undefined = z.ZodObject | undefined> {
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
    errors: z.array(z.looseObject({ code: z.string(), skuId: z.string().optional(), path: z.string().optional(), message: z.string().optional() })).optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: "Problem" });

const SECURITY: Record<Access, Record<string, string[]>[] | undefined> = {
  none: undefined,
  cart: [{ userJwt: [] }, { guestCart: [] }],
  user: [{ userJwt: [] }],
  admin: [{ adminToken: [] }],
  webhook: [{ paymentSignature: [] }],
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): unknown {
  return z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any", reused: "inline" });
}

export function openApiDocument(serverUrl: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [["path", op.params], ["query", op.query]] as const) {
      if (!schema) continue;
      for (const [name, field] of Object.entries(schema.shape)) {
        const fieldSchema = field as z.ZodType;
        parameters.push({ name, in: where, required: where === "path" || !fieldSchema.safeParse(undefined).success, schema: jsonSchema(fieldSchema, "input") });
      }
    }
    for (const h of op.headers ?? []) parameters.push({ name: h.name, in: "header", required: h.required, description: h.description, schema: { type: "string" } });
    const responses: Record<string, unknown> = {
      [op.ok.status]: {
        description: op.ok.description,
        ...(op.ok.schema ? { content: { "application/json": { schema: jsonSchema(op.ok.schema, "output") } } } : {}),
      },
    };
    const codes = new Set<ProblemCode>(["VALIDATION_FAILED", ...(op.problems ?? [])]);
    if (op.access === "cart" || op.access === "user") codes.add("UNAUTHORIZED");
    if (op.access === "admin") codes.add("UNAUTHORIZED").add("FORBIDDEN");
    if (op.rateLimited) codes.add("RATE_LIMITED");
    if (op.body) codes.add("PAYLOAD_TOO_LARGE").add("UNSUPPORTED_MEDIA_TYPE");
    for (const code of codes) {
      const status = String(STATUS_OF[code]);
      const existing = responses[status] as { description: string } | undefined;
      const description = existing ? `${existing.description}, ${code}` : code;
      responses[status] = { description, content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };
    }
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      tags: [op.tag],
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      operationId: `${op.method}${op.path.replace(/[{}]/g, "").replace(/[/-](\w)/g, (_, ch: string) => ch.toUpperCase())}`,
      ...(SECURITY[op.access] ? { security: SECURITY[op.access] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? { requestBody: { required: !op.bodyOptional, content: { "application/json": { schema: jsonSchema(op.body, "input") } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-cart",
      version: "1.0.0",
      description:
        "Shopping cart, checkout and flash-sale inventory at the edge. Errors are RFC 9457 problem+json with a machine-readable `code`; " +
        `problem types are URNs like \`${problemType("OUT_OF_STOCK")}\`. Money is an integer in minor units plus an ISO 4217 currency.`,
    },
    servers: [{ url: serverUrl }],
    components: {
      schemas: { Problem: jsonSchema(ProblemSchema, "output") },
      securitySchemes: {
        userJwt: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "HS256 JWT signed with JWT_SECRET; `sub` is the user id; `exp` is required." },
        guestCart: { type: "apiKey", in: "header", name: "X-Cart-Id", description: "A guest cart id (UUID) the client keeps in localStorage." },
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
        paymentSignature: { type: "apiKey", in: "header", name: "Payment-Signature", description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">' },
      },
    },
    paths,
  };
}

/** The interactive reference: Scalar's API reference reading /openapi.json. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>edge-cart API reference</title>
</head>
<body>
  <noscript>The interactive reference needs JavaScript; the raw document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
  <script id="api-reference" data-url="/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
</body>
</html>`;
}
