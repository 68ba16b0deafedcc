/**
 * What keeps tokens, secrets and signatures out of the logs: a field whose
 * name says it holds one is replaced whole, and every string value loses
 * what looks like one (a bearer token, a JWT, a Stripe key or webhook
 * secret, a payment signature, a password in a URL) and every exact secret
 * value the Worker runs with. Pure: no I/O, no runtime imports (unit-tested in Node).
 */

export const REDACTED = "[redacted]";

/** Field names that hold a credential: their value is never logged. */
const SECRET_KEY = /authorization|cookie|token|secret|password|passwd|signature|api[-_]?key|credential|^key$/i;

/** Shapes of credentials inside free text. */
const SECRET_SHAPES: [RegExp, string][] = [
  // Authorization: Bearer <anything>
  [/\b(Bearer|Basic)\s+[^\s,;"']+/gi, `$1 ${REDACTED}`],
  // A JWT (header.payload.signature, base64url, the header starts with `{"` = eyJ).
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, REDACTED],
  // Stripe secret, restricted and publishable keys, webhook signing secrets.
  [/\b(?:sk|rk|pk)_(?:live|test)_[\w]+/g, REDACTED],
  [/\bwhsec_[\w]+/g, REDACTED],
  // Payment-Signature and Stripe-Signature: t=<unix>,v1=<hex>[,v0=<hex>]
  [/\bt=\d+(?:,v\d+=[0-9a-f]+)+/gi, REDACTED],
  [/\bv[01]=[0-9a-f]{16,}/gi, REDACTED],
  // A password in a URL (postgres://user:password@host).
  [/(\/\/[^/\s:@]+):[^@\s/]+@/g, `$1:${REDACTED}@`],
  // A credential in a query string (?token=..., &secret=...).
  [/([?&](?:[\w-]*token|[\w-]*secret|key|signature|password)=)[^&\s"']+/gi, `$1${REDACTED}`],
];

/** The text with every credential-shaped part and every given secret value replaced. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  for (const [shape, replacement] of SECRET_SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** Whether a field of this name is dropped whole. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

const MAX_DEPTH = 6;

/**
 * A copy of `value` safe to log: secret-named fields replaced, strings
 * redacted, errors reduced to their message (and their cause's), nested
 * objects and arrays followed a few levels deep.
 */
export function redact(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === "string") return redactText(value, secrets);
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return redactText(errorText(value), secrets);
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] = isSecretKey(k) ? REDACTED : redact(v, secrets, depth + 1);
  }
  return out;
}

/** An error's message with its cause's (a driver error often says more in its cause). */
export function errorText(err: unknown): string {
  // A failed WebSocket connection surfaces as an ErrorEvent, not an Error.
  if (typeof ErrorEvent !== "undefined" && err instanceof ErrorEvent)
    return `connection failed: ${err.message || "socket error"}`;
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
