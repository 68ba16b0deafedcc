/**
 * Which failures of a write to Postgres are worth retrying.
 *
 * Postgres names every error with a SQLSTATE. Some classes mean the data
 * itself can never be stored, whatever the retry: class 22 "data exception"
 * (22021 invalid byte sequence such as a NUL, 22P05 untranslatable character
 * or unsupported Unicode escape, 22001 value too long, 22003 out of range,
 * 22007/22008 bad date-time, 22P02 bad input syntax), class 23 "integrity
 * constraint violation" (no projection conflicts by design: they upsert or
 * skip) and class 54 "program limit exceeded" (a row or index entry too big).
 * Those messages are dead-lettered at once. Everything else — a lost
 * connection (08), a serialization failure or deadlock (40), too many
 * connections (53), a restart (57), a missing table while a migration is
 * rolled out (42), or no SQLSTATE at all (network) — is retried with backoff.
 */
const PERMANENT_CLASSES = new Set(["22", "23", "54"]);

/** The SQLSTATE of a Postgres error, looking through wrappers (drizzle wraps driver errors in `cause`). */
export function sqlStateOf(err: unknown): string | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

export function isPermanentFailure(err: unknown): boolean {
  const state = sqlStateOf(err);
  return state !== null && PERMANENT_CLASSES.has(state.slice(0, 2));
}

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const HAS_UNSTORABLE = new RegExp(UNSTORABLE.source);

/**
 * Where a value holds text Postgres can never store (a NUL byte, an unpaired
 * surrogate), as a path like `data.items.0.name`; null when it holds none.
 * The edge refuses such text (http/schemas.ts), so this only catches events
 * from elsewhere or from older code. Checked before writing: sent to Postgres
 * they fail the whole batch, and an embedded PGlite drops the connection.
 */
export function unstorableTextAt(value: unknown, path = ""): string | null {
  if (typeof value === "string") return HAS_UNSTORABLE.test(value) ? path || "(value)" : null;
  if (value === null || typeof value !== "object") return null;
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (HAS_UNSTORABLE.test(k)) return `${at} (key)`;
    const found = unstorableTextAt(v, at);
    if (found) return found;
  }
  return null;
}

/** A string Postgres can store: NUL becomes the visible text `\u0000`, an unpaired surrogate U+FFFD. */
export function storableText(s: string): string {
  return s.replace(UNSTORABLE, (ch) => (ch === "\u0000" ? "\\u0000" : "\ufffd"));
}

/** A JSON value Postgres can store as jsonb (keys included), for recording a poison message as it came. */
export function storableJson(value: unknown): unknown {
  if (typeof value === "string") return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storableJson(v)]));
  }
  return value;
}
