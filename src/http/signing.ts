/**
 * HMAC signing and constant-time verification (live tickets, webhook
 * signatures, checkout request hashes).
 */
const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** An HMAC-SHA256 key for `secret`, imported once per isolate (every request verifies a JWT with it). */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A base64url part as a binary string (one char per byte). */
function base64UrlBinary(part: string): string {
  if (!BASE64URL.test(part)) throw new Error("not base64url");
  return atob(part.replaceAll("-", "+").replaceAll("_", "/"));
}

function bytesOf(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const ASCII = /^[\x00-\x7f]*$/;

/** A base64url JSON part; ASCII (the usual claims) is parsed as it is, anything else decoded as strict UTF-8. */
function jsonPart(part: string): unknown {
  const binary = base64UrlBinary(part);
  return JSON.parse(ASCII.test(binary) ? binary : decoder.decode(bytesOf(binary)));
}

/** Why an HS256 token was refused: its signature, shape or times. */
export class TokenRefused extends Error {
  constructor(readonly expired: boolean) {
    super(expired ? "the token has expired" : "the token is not valid");
  }
}

/**
 * Verifies an HS256 JWT (RFC 7519) with `secret` and returns its claims: the
 * header must name HS256, the signature must match, `exp` must be in the
 * future and `nbf`/`iat`, when present, not. Written against WebCrypto with the
 * key imported once per isolate; a general JWT library was most of a flash
 * buy's authentication CPU.
 */
export async function verifyHs256(
  token: string,
  secret: string,
  now = Date.now() / 1000,
): Promise<Record<string, unknown>> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenRefused(false);
  const [head, body, signature] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: Record<string, unknown>;
  let mac: Uint8Array;
  try {
    header = jsonPart(head) as { alg?: unknown };
    claims = jsonPart(body) as Record<string, unknown>;
    mac = bytesOf(base64UrlBinary(signature));
  } catch {
    throw new TokenRefused(false);
  }
  if (header?.alg !== "HS256" || claims === null || typeof claims !== "object" || Array.isArray(claims))
    throw new TokenRefused(false);
  if (!(await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, encoder.encode(`${head}.${body}`))))
    throw new TokenRefused(false);
  if (typeof claims.nbf === "number" && claims.nbf > now) throw new TokenRefused(false);
  if (typeof claims.iat === "number" && claims.iat > now + 60) throw new TokenRefused(false);
  if (typeof claims.exp === "number" && claims.exp <= now) throw new TokenRefused(true);
  return claims;
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so the
 * comparison never depends on (or leaks) their lengths.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}

/** A stable JSON text (sorted keys) for hashing request bodies. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
