/**
 * User tokens (docs/API.md, 2. Identity), verified with jose: against the
 * identity provider's key set (JWT_JWKS_URL: RS256, ES256 or EdDSA, with
 * JWT_ISSUER and JWT_AUDIENCE required and checked), or, for development and
 * the demo users, HS256 with JWT_SECRET. While a key set is configured an HS256
 * token is refused, so a token signed with a shared secret can never pass for
 * the provider's. `exp` and `sub` are required; `nbf`, `exp` and `iat` allow
 * CLOCK_SKEW_SECONDS of skew between the provider's clock and ours.
 */
import type { JWTPayload } from "jose";
import { errors, jwtVerify } from "jose";
import { DomainError } from "../domain/errors";
import type { KeySet } from "./key-sets";
import { KEY_SET_MAX_AGE_MS, KeySetUnavailable, keySet } from "./key-sets";
import { hmacKey } from "./signing";
import { log } from "../log/logger";

/** What a token's `sub` may be: Auth0's `auth0|…`, Clerk's `user_…`, Access's UUIDs, the demo users. */
export const USER_ID = /^[\w.@:|+-]{1,128}$/;

export const CLOCK_SKEW_SECONDS = 30;
const KEY_SET_ALGORITHMS = ["RS256", "ES256", "EdDSA"];
const DEFAULT_KEY_SET_TIMEOUT_MS = 3_000;
/** A key set that cannot be fetched: how long a client is told to wait before trying again. */
const KEY_SET_RETRY_AFTER_SECONDS = 5;
/** Plain http is allowed for a key set on this machine only (the tests serve one); anywhere else it could be forged in transit. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

type Verifier =
  | { kind: "keySet"; config: string; keys: KeySet; issuer: string; audience: string[] }
  | { kind: "hs256"; config: string; secret: string }
  | { kind: "refused"; reason: string; health: string };

/** One verifier per configuration, built (and a misconfiguration logged) once per isolate. */
const verifiers = new Map<string, Verifier>();

function verifierFor(env: Env): Verifier {
  const config = [env.JWT_JWKS_URL, env.JWT_ISSUER, env.JWT_AUDIENCE, env.JWT_JWKS_TIMEOUT_MS, env.JWT_SECRET].join(
    "\n",
  );
  let verifier = verifiers.get(config);
  if (!verifier) {
    verifier = buildVerifier(env, config);
    verifiers.set(config, verifier);
  }
  return verifier;
}

function misconfigured(problem: string): Verifier {
  log.error("user sign-in is refused until the configuration is fixed", { problem });
  return {
    kind: "refused",
    reason: `user sign-in is misconfigured on this server: ${problem}`,
    health: `misconfigured: ${problem}`,
  };
}

function buildVerifier(env: Env, config: string): Verifier {
  const url = env.JWT_JWKS_URL?.trim();
  if (url) {
    const issuer = env.JWT_ISSUER?.trim();
    const audience = (env.JWT_AUDIENCE ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean);
    if (!issuer) return misconfigured("JWT_ISSUER is not set (required with JWT_JWKS_URL)");
    if (audience.length === 0) return misconfigured("JWT_AUDIENCE is not set (required with JWT_JWKS_URL)");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return misconfigured("JWT_JWKS_URL is not a URL");
    }
    if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOCAL_HOSTS.has(parsed.hostname)))
      return misconfigured("JWT_JWKS_URL must be an https URL");
    const timeout = Number(env.JWT_JWKS_TIMEOUT_MS);
    const timeoutMs = Number.isInteger(timeout) && timeout > 0 ? timeout : DEFAULT_KEY_SET_TIMEOUT_MS;
    return { kind: "keySet", config, keys: keySet(parsed, timeoutMs), issuer, audience };
  }
  if (env.JWT_SECRET) return { kind: "hs256", config, secret: env.JWT_SECRET };
  return {
    kind: "refused",
    reason: "user login is not configured (JWT_SECRET is not set)",
    health: "not configured: set JWT_JWKS_URL (or JWT_SECRET for development)",
  };
}

/**
 * Tokens this isolate has verified: a client sends the same token with every
 * request, and verifying it again was a measurable share of a flash buy's CPU.
 * Keyed by the whole configuration (key set URL, issuer, audience, secret) and
 * the whole token, so a token is reused only under the configuration that
 * verified it; an entry holds until the token's `exp` (plus the skew) and, for
 * a key set, only while the keys it was checked against are the ones in use and
 * not past their age (a refetch, e.g. after a rotation, checks it again; keys
 * that cannot be refetched stop vouching for it). Bounded, oldest first out.
 */
const verified = new Map<string, { sub: string; until: number; keysFetchedAt: number | undefined }>();
const VERIFIED_MAX = 10_000;

const keysFetchedAt = (verifier: Verifier) => (verifier.kind === "keySet" ? verifier.keys.fetchedAt() : undefined);

/** The user id (`sub`) of a valid token; otherwise 401 UNAUTHORIZED, or 503 DEPENDENCY_UNAVAILABLE when the key set cannot be fetched. */
export async function verifyUserToken(env: Env, token: string): Promise<string> {
  const verifier = verifierFor(env);
  if (verifier.kind === "refused") throw new DomainError("UNAUTHORIZED", verifier.reason);
  const cacheKey = `${verifier.config}\n${token}`;
  const hit = verified.get(cacheKey);
  if (hit) {
    if (Date.now() < hit.until && hit.keysFetchedAt === keysFetchedAt(verifier)) return hit.sub;
    verified.delete(cacheKey);
  }
  const { sub, exp } = await verifyClaims(verifier, token);
  const fetchedAt = keysFetchedAt(verifier);
  const until = Math.min((exp + CLOCK_SKEW_SECONDS) * 1000, (fetchedAt ?? Infinity) + KEY_SET_MAX_AGE_MS);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(cacheKey, { sub, until, keysFetchedAt: fetchedAt });
  return sub;
}

async function verifyClaims(
  verifier: Exclude<Verifier, { kind: "refused" }>,
  token: string,
): Promise<{ sub: string; exp: number }> {
  let payload: JWTPayload;
  try {
    const checks = { clockTolerance: CLOCK_SKEW_SECONDS, requiredClaims: ["exp", "sub"] };
    ({ payload } =
      verifier.kind === "keySet"
        ? await jwtVerify(token, verifier.keys.key, {
            ...checks,
            algorithms: KEY_SET_ALGORITHMS,
            issuer: verifier.issuer,
            audience: verifier.audience,
          })
        : await jwtVerify(token, await hmacKey(verifier.secret), { ...checks, algorithms: ["HS256"] }));
  } catch (err) {
    throw refusal(err, verifier.kind);
  }
  // jose checks `iat` only against a maximum age; one in the future (past the skew) is a clock or a forgery.
  if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS)
    throw unauthorized("the token's `iat` is in the future");
  if (typeof payload.sub !== "string" || !USER_ID.test(payload.sub))
    throw unauthorized("the token's `sub` is not a valid user id");
  return { sub: payload.sub, exp: payload.exp! };
}

const unauthorized = (detail: string) => new DomainError("UNAUTHORIZED", detail);

/** jose's verdict as the client's answer: the token's fault is 401 with the reason, the key set's is 503. */
function refusal(err: unknown, kind: "keySet" | "hs256"): DomainError {
  if (err instanceof KeySetUnavailable)
    return new DomainError(
      "DEPENDENCY_UNAVAILABLE",
      `the identity provider's key set cannot be fetched (${err.reason}); the token was not checked`,
      undefined,
      { "retry-after": String(KEY_SET_RETRY_AFTER_SECONDS) },
    );
  if (err instanceof errors.JWTExpired) return unauthorized("the token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) return unauthorized(claimProblem(err.claim, err.reason));
  if (err instanceof errors.JOSEAlgNotAllowed)
    return unauthorized(
      kind === "keySet"
        ? "the token's `alg` is not accepted: tokens are signed by the identity provider with RS256, ES256 or EdDSA"
        : "the token's `alg` is not accepted: only HS256 with JWT_SECRET",
    );
  if (err instanceof errors.JWKSNoMatchingKey)
    return unauthorized("the token's signing key (`kid`) is not in the identity provider's key set");
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return unauthorized("the token names no `kid` and the identity provider's key set has several keys");
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthorized("the token's signature does not match");
  return unauthorized("the token is not a valid JWT");
}

function claimProblem(claim: string, reason: string): string {
  if (reason === "missing") return `the token has no \`${claim}\` claim`;
  switch (claim) {
    case "iss":
      return "the token was issued by another issuer (`iss` is not JWT_ISSUER)";
    case "aud":
      return "the token is meant for another application (`aud` does not name JWT_AUDIENCE)";
    case "nbf":
      return "the token is not valid yet (`nbf`)";
    default:
      return `the token's \`${claim}\` claim is not valid`;
  }
}

/** For /healthz: "ok…", or why user sign-in is refused (misconfigured, not configured, key set unavailable). */
export async function userTokenHealth(env: Env, ms: number): Promise<string> {
  const verifier = verifierFor(env);
  if (verifier.kind === "refused") return verifier.health;
  if (verifier.kind === "hs256") return "ok (HS256 with JWT_SECRET)";
  const keys = await verifier.keys.health(ms);
  return keys === "ok" ? "ok (key set)" : `key set ${keys}`;
}
