/**
 * CORS for the allowed browser origins (docs/API.md, Browsers).
 */
import { cors } from "hono/cors";

/** In development (ENVIRONMENT=development, set by .dev.vars) any local front end may call the API. */
const LOCALHOST = /^http:\/\/localhost(:\d{1,5})?$/;

/** The origin, if it may call the API from a browser: listed in ALLOWED_ORIGINS, or localhost in development. */
export function allowedOrigin(origin: string | undefined, env: Env): string | null {
  if (!origin) return null;
  const listed = (env.ALLOWED_ORIGINS ?? "").split(",").map((o) => o.trim().replace(/\/+$/, ""));
  if (listed.includes(origin)) return origin;
  return env.ENVIRONMENT === "development" && LOCALHOST.test(origin) ? origin : null;
}

/** Hono's CORS step with our lists; run only for an allowed origin (`edge.ts`). */
export const corsHeaders = cors({
  origin: (origin) => origin,
  allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["Authorization", "Content-Type", "X-Cart-Id", "X-Cart-Version", "Idempotency-Key", "If-Match"],
  exposeHeaders: ["ETag", "Retry-After", "X-Request-Id"],
  maxAge: 600,
});

/*
 * CORS (docs/API.md, Browsers): an allowed origin gets the headers on every
 * response, errors and 429s included (they are set before the route runs and
 * kept by the error handler's response), and its preflight is answered 204.
 * Any other origin gets no CORS header at all. Applied by the edge step (edge.ts).
 */
