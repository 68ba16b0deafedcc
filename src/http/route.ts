import type { z } from "zod";
import type { ProblemItem } from "../domain/errors";
import { DomainError } from "../domain/errors";
import type { App, AppContext } from "./context";
import type { Identity } from "./identity";
import { requireAdmin, resolveIdentity } from "./identity";
import type { Operation } from "./openapi";
import { operations } from "./openapi";

export type { App, AppContext, AppEnv } from "./context";

type Infer<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface Input<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  /** Set for `cart` and `user` operations. */
  identity: Identity;
}

/** Turns zod issues into problem `errors` entries. */
export function issuesOf(error: z.ZodError, prefix: string): ProblemItem[] {
  return error.issues.map((issue) => ({
    code: issue.code,
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new DomainError("VALIDATION_FAILED", `the ${where} is not valid`, issuesOf(parsed.error, where));
  return parsed.data;
}

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\s*(;|$)/i;

/** Bodies are small JSON documents: 64 KiB is far above any valid request (a 200-line batch delete is ~6 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

function tooLarge(): DomainError {
  return new DomainError("PAYLOAD_TOO_LARGE", `the body is larger than ${MAX_BODY_BYTES} bytes`);
}

/**
 * The request body as text, refused with 413 past MAX_BODY_BYTES: by its
 * Content-Length before anything is read, and a body sent without one is
 * counted as it streams in and dropped at the limit. Only routes that take a
 * body read it, so no other request pays for the check.
 */
export async function readBodyText(c: AppContext): Promise<string> {
  const declared = c.req.header("content-length");
  if (declared !== undefined) {
    if (Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    return c.req.text();
  }
  const stream = c.req.raw.body;
  if (!stream) return "";
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Reads and validates a JSON body: 413 past the size limit, 415 for another media type, 400 for bad JSON or a body that does not match. */
export async function readJsonBody<S extends z.ZodType>(
  c: AppContext,
  schema: S,
  optional = false,
): Promise<z.output<S>> {
  const text = await readBodyText(c);
  if (text.trim() === "") {
    if (optional) return parseWith(schema, {}, "body");
    throw new DomainError("VALIDATION_FAILED", "a JSON body is required");
  }
  if (!JSON_TYPE.test(c.req.header("content-type") ?? ""))
    throw new DomainError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  return parseJsonBody(text, schema);
}

/** A body already read as text (a webhook's, after its signature was checked): 400 for bad JSON or a body that does not match. */
export function parseJsonBody<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DomainError("VALIDATION_FAILED", "the body is not valid JSON");
  }
  return parseWith(schema, json, "body");
}

/**
 * Buy paths are limited per buyer (user or guest cart). A guest picks its own
 * cart id, so guests are also limited per client address (CF-Connecting-IP,
 * set by Cloudflare and never taken from the client); a fresh X-Cart-Id per
 * request does not escape that.
 */
const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/;

async function enforceRateLimit(c: AppContext, identity: Identity | null): Promise<void> {
  const ip = c.req.header("cf-connecting-ip");
  const checks: Promise<{ success: boolean }>[] = [];
  if (c.env.BUY_RATE_LIMITER)
    checks.push(c.env.BUY_RATE_LIMITER.limit({ key: identity?.cartKey ?? ip ?? "anonymous" }));
  // Loopback never reaches a deployed Worker; locally every client shares it (dev stack, tests, benchmarks).
  if (c.env.GUEST_IP_RATE_LIMITER && identity?.kind !== "user" && ip && !LOOPBACK.test(ip))
    checks.push(c.env.GUEST_IP_RATE_LIMITER.limit({ key: ip }));
  const results = await Promise.all(checks);
  if (results.some((r) => !r.success)) {
    const period = c.env.RATE_LIMIT_PERIOD_SECONDS ?? "10";
    throw new DomainError("RATE_LIMITED", `too many buy requests; retry in ${period} s`, undefined, {
      "retry-after": period,
    });
  }
}

/** OpenAPI path `/v1/items/{skuId}` as a Hono path `/v1/items/:skuId`. */
export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

/**
 * Registers an operation: it is served by Hono and described in the OpenAPI
 * document from the same zod schemas. Authentication, rate limiting and
 * validation happen here, in that order, so handlers only see valid input.
 */
export function route<
  B extends z.ZodType | undefined,
  Q extends z.ZodObject | undefined,
  P extends z.ZodObject | undefined,
>(
  app: App,
  op: Operation<B, Q, P> & { rawBody?: boolean },
  handler: (c: AppContext, input: Input<Infer<B>, Infer<Q>, Infer<P>>) => Promise<Response> | Response,
): void {
  operations.push(op as Operation);
  const label = `${op.method.toUpperCase()} ${op.path}`;
  app.on(op.method.toUpperCase(), honoPath(op.path), async (c) => {
    c.set("route", label);
    let identity: Identity | null = null;
    if (op.access === "cart" || op.access === "user") identity = await resolveIdentity(c, op.access);
    if (op.access === "admin") await requireAdmin(c);
    const params = (op.params ? parseWith(op.params, c.req.param(), "path") : undefined) as Infer<P>;
    const query = (op.query ? parseWith(op.query, c.req.query(), "query") : undefined) as Infer<Q>;
    if (op.rateLimited) await enforceRateLimit(c, identity);
    const body = (op.body && !op.rawBody ? await readJsonBody(c, op.body, op.bodyOptional) : undefined) as Infer<B>;
    return handler(c, { body, query, params, identity: identity as Identity });
  });
}

/** A `GET` of one thing named by the path: 200 with it, or NOT_FOUND saying what was not there. */
export function routeOne<P extends z.ZodObject, T>(
  app: App,
  op: Omit<Operation<undefined, undefined, P>, "method" | "problems"> & { params: P },
  load: (c: AppContext, params: z.output<P>) => Promise<T | null | undefined>,
  missing: (params: z.output<P>) => string,
): void {
  route(app, { method: "get", ...op, problems: ["NOT_FOUND"] }, async (c, input) => {
    const params = input.params as z.output<P>;
    const found = await load(c, params);
    if (!found) throw new DomainError("NOT_FOUND", missing(params));
    return c.json(found);
  });
}
