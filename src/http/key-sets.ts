/**
 * The identity provider's key sets (JWT_JWKS_URL), fetched with jose and kept
 * per isolate: one remote set per URL, refetched when stale (10 min) or when a
 * token names a `kid` the set does not hold, at most once per cooldown (30 s),
 * so a rotated key is picked up without a deploy and a flood of made-up `kid`s
 * cannot become a flood of fetches. A set that cannot be fetched is
 * `KeySetUnavailable`, which the edge answers with 503, never with a token
 * taken on trust.
 */
import type { JWTHeaderParameters, FlattenedJWSInput, RemoteJWKSet } from "jose";
import { createRemoteJWKSet, errors, jwksCache } from "jose";
import { withTimeout } from "../timeout";
import { log } from "../log/logger";

const KEY_SET_COOLDOWN_MS = 30_000;
export const KEY_SET_MAX_AGE_MS = 600_000;
const HEALTH_RECHECK_MS = 5_000;

/** The key set could not be fetched or read: the provider is down, slow, or answered with something else. */
export class KeySetUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "KeySetUnavailable";
  }
}

export interface KeySet {
  /** Resolves the key a token names (`kid`, `alg`); jose's JWKSNoMatchingKey when the set has none. */
  readonly key: (header: JWTHeaderParameters, token: FlattenedJWSInput) => ReturnType<RemoteJWKSet>;
  /** When the keys in use were fetched (ms); it changes on every refetch, so a token verified under older keys is checked again. */
  fetchedAt(): number | undefined;
  /** "ok", or why the set cannot be fetched; fetches only a set that is stale, time-boxed to `ms`. */
  health(ms: number): Promise<string>;
}

const sets = new Map<string, KeySet>();

export function keySet(url: URL, timeoutMs: number): KeySet {
  const id = `${url.href}\n${timeoutMs}`;
  let set = sets.get(id);
  if (!set) {
    set = remoteKeySet(url, timeoutMs);
    sets.set(id, set);
  }
  return set;
}

function remoteKeySet(url: URL, timeoutMs: number): KeySet {
  // jose writes the time of each successful fetch here (its documented cache hook).
  const fetched: { uat?: number; jwks?: unknown } = {};
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: timeoutMs,
    cooldownDuration: KEY_SET_COOLDOWN_MS,
    cacheMaxAge: KEY_SET_MAX_AGE_MS,
    [jwksCache]: fetched as Record<string, never>,
  });
  // The current outage, if any: logged once when it starts, and what /healthz repeats for a few seconds.
  let failure: { reason: string; at: number } | null = null;
  const failed = (err: unknown): KeySetUnavailable => {
    const unavailable = new KeySetUnavailable(reasonOf(err, timeoutMs));
    if (!failure) log.warn("user tokens: the key set cannot be fetched", { url: url.href, error: unavailable.reason });
    failure = { reason: unavailable.reason, at: Date.now() };
    return unavailable;
  };
  return {
    async key(header, token) {
      try {
        const key = await remote(header, token);
        failure = null;
        return key;
      } catch (err) {
        if (!tokenNamesNoKey(err)) throw failed(err);
        failure = null;
        throw err;
      }
    },
    fetchedAt: () => fetched.uat,
    async health(ms) {
      if (remote.fresh) return "ok";
      // A health probe during an outage does not knock on the provider's door again each time.
      if (failure && Date.now() - failure.at < HEALTH_RECHECK_MS) return `unavailable: ${failure.reason}`;
      try {
        const reload = remote.reload();
        reload.catch(() => {});
        await withTimeout(reload, ms);
        failure = null;
        return "ok";
      } catch (err) {
        return `unavailable: ${failed(err).reason}`;
      }
    },
  };
}

/** The set was read, and the token's `kid`/`alg` matches no key (or several): the token's fault, a 401. */
function tokenNamesNoKey(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported
  );
}

function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof errors.JWKSTimeout) return `no answer within ${timeoutMs / 1000} s`;
  if (err instanceof errors.JWKSInvalid) return "the answer is not a JSON Web Key Set";
  if (err instanceof errors.JOSEError) return err.message;
  // withTimeout's own deadline (health) says how long it waited; fetch failures name their cause.
  if (err instanceof Error)
    return /^no answer within/.test(err.message) ? err.message : `the request failed (${err.message})`;
  return "the request failed";
}
