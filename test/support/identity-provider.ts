// An identity provider for the workers tests: key pairs generated with jose, their public
// halves published through the real key set server (jwks-server.ts, over HTTP), and the
// tokens it signs. Each instance is its own provider (its own set, issuer and counters).
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import type { CryptoKey, JWK, JWTPayload } from "jose";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { inject } from "vitest";
import { app } from "../../src/http/app";

declare module "vitest" {
  // Provided by test/support/global-setup.ts.
  export interface ProvidedContext {
    jwksServer: string;
    jwksRefusedUrl: string;
  }
}

export type SigningAlg = "RS256" | "ES256" | "EdDSA";

interface SigningKey {
  alg: SigningAlg;
  privateKey: CryptoKey;
  jwk: JWK;
}

type Failure = "status500" | "notJson" | "close";

export class IdentityProvider {
  readonly name = `idp-${crypto.randomUUID().slice(0, 8)}`;
  readonly issuer = `https://${this.name}.example.com/`;
  readonly audience = "https://api.edge-cart.test";
  readonly jwksUrl = `${inject("jwksServer")}/${this.name}/jwks.json`;
  private readonly keys = new Map<string, SigningKey>();

  /** A new key pair (not yet published); its `kid`. */
  async newKey(alg: SigningAlg = "RS256"): Promise<string> {
    const kid = `${alg}-${crypto.randomUUID().slice(0, 8)}`;
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    this.keys.set(kid, { alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } });
    return kid;
  }

  publicJwk(kid: string): JWK {
    return this.keys.get(kid)!.jwk;
  }

  /** Serves exactly these keys from now on (a rotation: the old `kid` gone, the new one served). */
  publish(...kids: string[]): Promise<void> {
    return this.steer({ jwks: { keys: kids.map((kid) => this.publicJwk(kid)) }, failure: null, delayMs: 0 });
  }

  /** Makes the key set endpoint slow (`delayMs`) or fail, or well again (`failure: null, delayMs: 0`). */
  async steer(change: { jwks?: unknown; delayMs?: number; failure?: Failure | null }): Promise<void> {
    const res = await fetch(`${inject("jwksServer")}/admin/${this.name}`, {
      method: "PUT",
      body: JSON.stringify(change),
    });
    await res.text();
  }

  /** How often the Worker fetched this provider's key set. */
  async fetches(): Promise<number> {
    const res = await fetch(`${inject("jwksServer")}/admin/${this.name}`);
    return ((await res.json()) as { fetches: number }).fetches;
  }

  /** A token signed with `kid`: this provider's issuer and audience, 10 minutes long; `claims` override (undefined drops one). */
  token(kid: string, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
    const key = this.keys.get(kid)!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.issuer, aud: this.audience, sub: "shopper-1", iat: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: key.alg, kid, typ: "JWT", ...header })
      .sign(key.privateKey);
  }

  /** The Worker's env with this provider configured; key set fetches time out after 300 ms. */
  env(extra: Partial<Record<keyof Env, string | undefined>> = {}): Env {
    return {
      ...env,
      JWT_JWKS_URL: this.jwksUrl,
      JWT_ISSUER: this.issuer,
      JWT_AUDIENCE: this.audience,
      JWT_JWKS_TIMEOUT_MS: "300",
      ...extra,
    } as Env;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  ms: number;
}

/** One request through the Worker's app with `on` as its env. */
export async function callWith(
  on: Env,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const started = performance.now();
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await app.fetch(
    new Request(`http://edge-cart.test${path}`, {
      method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    on,
    createExecutionContext(),
  );
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? JSON.parse(text) : null,
    ms: performance.now() - started,
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
