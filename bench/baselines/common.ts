// What the two baseline servers share: the HTTP surface of edge-cart's flash buy
// (`POST /v1/flash/{skuId}/orders`, user JWT, Idempotency-Key, `{quantity}`), the same
// HS256 JWT check, the same order id derivation and the same answers (201 with the order,
// 200 for a replay, 409 problem+json SOLD_OUT / LIMIT_EXCEEDED). Only the store differs.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FlashRequest {
  skuId: string;
  /** `user:{sub}`, like edge-cart's owner id. */
  ownerId: string;
  idempotencyKey: string;
  /** `ord_` + 32 hex of sha256(owner \n key): a retry of the same key meets the same order. */
  orderId: string;
  quantity: number;
}

export interface PlacedOrder {
  orderId: string;
  status: "PENDING";
  items: { skuId: string; quantity: number; unitPrice: number; lineTotal: number }[];
  total: number;
  currency: string;
  expiresAt: string;
}

export type RefusalCode = "SOLD_OUT" | "LIMIT_EXCEEDED" | "SKU_UNAVAILABLE" | "IDEMPOTENCY_KEY_REUSED";

export type FlashOutcome =
  | { kind: "created" | "replayed"; order: PlacedOrder }
  | { kind: "refused"; code: RefusalCode; detail: string };

export type FlashHandler = (req: FlashRequest) => Promise<FlashOutcome>;

const STATUS_OF: Record<RefusalCode, number> = {
  SOLD_OUT: 409,
  LIMIT_EXCEEDED: 409,
  SKU_UNAVAILABLE: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
};
const PATH = /^\/v1\/flash\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})\/orders$/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const USER_ID = /^[\w.@:+-]{1,128}$/;

export function orderIdFor(ownerId: string, key: string): string {
  return `ord_${createHash("sha256").update(`${ownerId}\n${key}`).digest("hex").slice(0, 32)}`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/** HS256 JWT with `sub` and `exp` (what edge-cart accepts with JWT_SECRET). */
export function verifyUserJwt(token: string, secret: string): string {
  const parts = token.split(".");
  if (parts.length !== 3) throw new HttpError(401, "UNAUTHORIZED", "the token is not valid");
  const [h, p, s] = parts as [string, string, string];
  const expected = createHmac("sha256", secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new HttpError(401, "UNAUTHORIZED", "the token is not valid");
  let header: { alg?: unknown };
  let payload: { sub?: unknown; exp?: unknown };
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    throw new HttpError(401, "UNAUTHORIZED", "the token is not valid");
  }
  if (header.alg !== "HS256") throw new HttpError(401, "UNAUTHORIZED", "the token is not valid");
  if (typeof payload.exp !== "number" || payload.exp * 1000 <= Date.now())
    throw new HttpError(401, "UNAUTHORIZED", "the token has expired");
  if (typeof payload.sub !== "string" || !USER_ID.test(payload.sub))
    throw new HttpError(401, "UNAUTHORIZED", "the token's `sub` is not a valid user id");
  return payload.sub;
}

function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new HttpError(413, "PAYLOAD_TOO_LARGE", "the body is over 64 KiB"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function problem(res: http.ServerResponse, status: number, code: string, detail: string): void {
  send(
    res,
    status,
    { type: `urn:edge-cart:problem:${code.toLowerCase()}`, title: code, status, detail, code },
    "application/problem+json",
  );
}

async function parseFlash(req: http.IncomingMessage, secret: string): Promise<FlashRequest> {
  const m = PATH.exec(req.url ?? "");
  if (req.method !== "POST" || !m) throw new HttpError(404, "NOT_FOUND", "no such route");
  const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (!auth) throw new HttpError(401, "UNAUTHORIZED", "this operation needs a logged-in user");
  const ownerId = `user:${verifyUserJwt(auth[1]!, secret)}`;
  const key = req.headers["idempotency-key"];
  if (typeof key !== "string" || !IDEMPOTENCY_KEY.test(key))
    throw new HttpError(400, "VALIDATION_FAILED", "Idempotency-Key must be 1-255 visible ASCII characters");
  let body: { quantity?: unknown };
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, "VALIDATION_FAILED", "the body is not valid JSON");
  }
  const quantity = body.quantity;
  if (typeof quantity !== "number" || !Number.isInteger(quantity) || quantity < 1 || quantity > 999) {
    throw new HttpError(400, "VALIDATION_FAILED", "quantity must be an integer 1..999");
  }
  return { skuId: m[1]!, ownerId, idempotencyKey: key, orderId: orderIdFor(ownerId, key), quantity };
}

/**
 * Serves the flash route with `handler` on 127.0.0.1:$PORT (0 = any free port) and prints
 * `READY <port>` when listening; SIGTERM closes the server, then `close()`.
 */
export async function serveFlash(handler: FlashHandler, close: () => Promise<void>): Promise<void> {
  const secret = process.env.JWT_SECRET;
  if (!secret) throw new Error("JWT_SECRET is not set");
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    parseFlash(req, secret)
      .then(handler)
      .then((out) => {
        if (out.kind === "refused") problem(res, STATUS_OF[out.code], out.code, out.detail);
        else send(res, out.kind === "created" ? 201 : 200, out.order);
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) return problem(res, err.status, err.code, err.message);
        console.error(err);
        problem(res, 500, "INTERNAL", "internal error");
      });
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", resolve));
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    server.close();
    close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

export function placedOrder(
  orderId: string,
  skuId: string,
  quantity: number,
  unitPrice: number,
  currency: string,
  expiresAt: Date | string,
): PlacedOrder {
  return {
    orderId,
    status: "PENDING",
    items: [{ skuId, quantity, unitPrice, lineTotal: unitPrice * quantity }],
    total: unitPrice * quantity,
    currency,
    expiresAt: new Date(expiresAt).toISOString(),
  };
}
