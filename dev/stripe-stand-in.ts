// Local stand-in for Stripe's API: the one test double of the Stripe integration. It serves
// the few endpoints the Worker and the storefront call, in Stripe's shapes
// (docs.stripe.com/api/payment_intents), so intent creation runs without the internet:
//
//   POST /v1/payment_intents              form-encoded as the `stripe` package sends it;
//                                         Idempotency-Key honoured like Stripe (same key and
//                                         parameters -> the same intent; other parameters -> 400)
//   GET  /v1/payment_intents/{id}         with the secret key, or the publishable key and
//   POST /v1/payment_intents/{id}/confirm ?client_secret= (what Stripe.js does); confirming
//                                         succeeds the intent and, when a webhook is set,
//                                         delivers a signed payment_intent.succeeded to it
//   GET  /v3/                             a stand-in Stripe.js with the surface the storefront
//                                         uses: Stripe(pk).elements({ clientSecret })
//                                         .create("payment").mount(el), stripe.confirmPayment()
//   GET  /__stand-in/intents?orderId=     for tests: the intents made for an order, with the
//                                         number of create requests each one answered
//
// Tests choose Stripe's behaviour with the secret key, as Stripe itself answers per key:
//   sk_test_slow_…  answers after `slowMs`     sk_test_down_…  500 api_error
//   not sk_test_…   401 authentication_error
// and Stripe's amount bounds hold: above 99,999,999 -> 400 amount_too_large, below 50 -> 400
// amount_too_small.
//
// `npm run stripe:stand-in` runs it alone (PORT, default 12111; STRIPE_WEBHOOK_URL and
// STRIPE_WEBHOOK_SECRET to deliver events to a local Worker).
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import Stripe from "stripe";
import { isMain, listen, urlHost } from "./util.ts";

export interface StripeStandInOptions {
  /** 0 = a free port (default). */
  port?: number;
  host?: string;
  /** How long an `sk_test_slow_…` request waits (default 3000 ms). */
  slowMs?: number;
  /** Where confirmed intents are announced (the Worker's /v1/payments/stripe/webhook), signed with `secret`. */
  webhook?: { url: string; secret: string };
}

export interface StripeStandIn {
  url: string;
  port: number;
  /** Where confirmed intents are announced from now on (a Worker started after the stand-in). */
  setWebhook(webhook: { url: string; secret: string }): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

interface Intent extends Json {
  id: string;
  amount: number;
  currency: string;
  client_secret: string;
  status: string;
  metadata: Record<string, string>;
}

const MAX_AMOUNT = 99_999_999;
const MIN_AMOUNT = 50;

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

/** Stripe's form encoding (`a[b]=c`) as an object, one level deep: all the intent parameters need. */
function formObject(body: string): Json {
  const out: Json = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const nested = /^([^[]+)\[([^\]]+)\]$/.exec(key);
    if (nested) {
      const parent = (out[nested[1]!] ??= {}) as Json;
      parent[nested[2]!] = value;
    } else out[key] = value;
  }
  return out;
}

/** The API key, sent as Stripe accepts it: `Bearer <key>` (the `stripe` package) or Basic `<key>:` (curl -u). */
function apiKey(authorization = ""): string {
  const [scheme, value = ""] = authorization.split(" ", 2);
  if (/^basic$/i.test(scheme ?? "")) return Buffer.from(value, "base64").toString("utf8").split(":")[0] ?? "";
  return /^bearer$/i.test(scheme ?? "") ? value : "";
}

function stripeError(status: number, type: string, message: string, extra: Json = {}) {
  return { status, body: { error: { type, message, ...extra } } };
}

function newIntent(params: Json): Intent {
  const intentId = id("pi");
  return {
    id: intentId,
    object: "payment_intent",
    amount: Number(params.amount),
    amount_capturable: 0,
    amount_received: 0,
    automatic_payment_methods: { enabled: true, allow_redirects: "always" },
    canceled_at: null,
    cancellation_reason: null,
    capture_method: "automatic_async",
    client_secret: `${intentId}_secret_${randomBytes(12).toString("hex")}`,
    confirmation_method: "automatic",
    created: Math.floor(Date.now() / 1000),
    currency: String(params.currency),
    customer: null,
    description: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: (params.metadata as Record<string, string> | undefined) ?? {},
    next_action: null,
    payment_method: null,
    payment_method_types: ["card"],
    status: "requires_payment_method",
  };
}

/** The stand-in Stripe.js, served at /v3/: just the calls web/shop/orders.ts makes. */
function stripeJs(origin: string): string {
  return `// Stripe.js stand-in (dev/stripe-stand-in.ts): not Stripe's code, only the surface the storefront uses.
(function () {
  var api = ${JSON.stringify(origin)};
  var style = document.createElement("style");
  style.textContent =
    ".stand-in-element{border:1px solid #d5dbe1;border-radius:8px;padding:14px;font:14px system-ui,sans-serif;background:#fff}" +
    ".stand-in-tabs span{display:inline-block;border:2px solid #0570de;border-radius:6px;padding:6px 12px;color:#0570de;font-weight:600;margin-bottom:10px}" +
    ".stand-in-element label{display:block;color:#30313d;margin:8px 0 0}" +
    ".stand-in-element input{display:block;width:100%;box-sizing:border-box;margin-top:4px;padding:9px;border:1px solid #e0e6eb;border-radius:5px;font:inherit}" +
    ".stand-in-row{display:flex;gap:10px}.stand-in-row label{flex:1}" +
    ".stand-in-element small{display:block;margin-top:10px;color:#6d6e78}";
  document.head.appendChild(style);
  window.Stripe = function (publishableKey) {
    var secret = null;
    return {
      elements: function (options) {
        secret = options && options.clientSecret;
        return {
          create: function (type) {
            return {
              mount: function (target) {
                var el = typeof target === "string" ? document.querySelector(target) : target;
                el.innerHTML =
                  '<div class="stand-in-element" data-element="' + type + '">' +
                  '<div class="stand-in-tabs"><span class="on">Card</span></div>' +
                  '<label>Card number<input value="4242 4242 4242 4242" readonly></label>' +
                  '<div class="stand-in-row"><label>Expiration<input value="12 / 34" readonly></label>' +
                  '<label>CVC<input value="123" readonly></label></div>' +
                  '<small>Stripe stand-in (local): no card data leaves this page</small></div>';
              },
              on: function () {},
              destroy: function () {},
            };
          },
        };
      },
      confirmPayment: function () {
        var intentId = secret.split("_secret_")[0];
        return fetch(api + "/v1/payment_intents/" + intentId + "/confirm", {
          method: "POST",
          headers: { authorization: "Bearer " + publishableKey, "content-type": "application/x-www-form-urlencoded" },
          body: "client_secret=" + encodeURIComponent(secret),
        })
          .then(function (res) { return res.json(); })
          .then(function (body) { return body.error ? { error: body.error } : { paymentIntent: body }; });
      },
    };
  };
})();
`;
}

export async function startStripeStandIn(opts: StripeStandInOptions = {}): Promise<StripeStandIn> {
  const slowMs = opts.slowMs ?? 3000;
  const intents = new Map<string, Intent>();
  /** idempotency scope -> the answer, the parameters it was for, and how many requests it answered */
  const replies = new Map<string, { hash: string; status: number; body: Json; requests: number; intentId?: string }>();
  const sockets = new Set<import("node:net").Socket>();
  let origin = "";

  let webhook = opts.webhook;

  async function deliver(intent: Intent): Promise<void> {
    if (!webhook) return;
    const payload = JSON.stringify({
      id: id("evt"),
      object: "event",
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      data: { object: intent },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: "payment_intent.succeeded",
    });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhook.secret });
    const res = await fetch(webhook.url, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": header },
      body: payload,
    });
    if (!res.ok) console.warn(`[stripe stand-in] webhook answered ${res.status}: ${await res.text()}`);
  }

  async function answer(req: http.IncomingMessage, body: string): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? "/", origin);
    const key = apiKey(req.headers.authorization);
    if (url.pathname === "/__stand-in/intents") {
      const orderId = url.searchParams.get("orderId");
      const found = [...replies.values()]
        .filter((r) => r.intentId && intents.get(r.intentId)?.metadata.orderId === orderId)
        .map((r) => ({ ...intents.get(r.intentId!)!, requests: r.requests }));
      return { status: 200, body: { data: found } };
    }
    if (req.method === "POST" && url.pathname === "/v1/payment_intents") {
      if (!key.startsWith("sk_test_"))
        return stripeError(401, "invalid_request_error", "Invalid API Key provided: sk_****", {
          code: "api_key_invalid",
        });
      if (key.startsWith("sk_test_slow_")) await new Promise((r) => setTimeout(r, slowMs));
      if (key.startsWith("sk_test_down_"))
        return stripeError(500, "api_error", "Something went wrong on Stripe's end.");
      const params = formObject(body);
      const idempotencyKey = req.headers["idempotency-key"];
      const scope = typeof idempotencyKey === "string" ? `${key}|${idempotencyKey}` : null;
      const hash = createHash("sha256").update(body).digest("hex");
      const earlier = scope ? replies.get(scope) : undefined;
      if (earlier) {
        if (earlier.hash !== hash) {
          return stripeError(
            400,
            "idempotency_error",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
          );
        }
        earlier.requests += 1;
        return earlier;
      }
      const amount = Number(params.amount);
      let reply: { status: number; body: Json; intentId?: string };
      if (!Number.isInteger(amount) || amount > MAX_AMOUNT)
        reply = stripeError(400, "invalid_request_error", "Amount must be no more than $999,999.99", {
          code: "amount_too_large",
          param: "amount",
        });
      else if (amount < MIN_AMOUNT)
        reply = stripeError(400, "invalid_request_error", "Amount must be at least $0.50 usd", {
          code: "amount_too_small",
          param: "amount",
        });
      else {
        const intent = newIntent(params);
        intents.set(intent.id, intent);
        reply = { status: 200, body: intent, intentId: intent.id };
      }
      if (scope) replies.set(scope, { ...reply, hash, requests: 1 });
      return reply;
    }
    const one = /^\/v1\/payment_intents\/(pi_[0-9a-f]+)(\/confirm)?$/.exec(url.pathname);
    if (one) {
      const intent = intents.get(one[1]!);
      const secret = url.searchParams.get("client_secret") ?? formObject(body).client_secret;
      const allowed = key.startsWith("sk_test_") || (key.startsWith("pk_test_") && secret === intent?.client_secret);
      if (!intent || !allowed)
        return stripeError(404, "invalid_request_error", `No such payment_intent: '${one[1]}'`, {
          code: "resource_missing",
        });
      if (req.method === "POST" && one[2]) {
        if (intent.status !== "succeeded") {
          Object.assign(intent, { status: "succeeded", amount_received: intent.amount, latest_charge: id("ch") });
          await deliver(intent);
        }
      }
      return { status: 200, body: intent };
    }
    if (req.method === "GET" && url.pathname === "/v3/") return { status: 200, body: stripeJs(origin) };
    return stripeError(404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${url.pathname}).`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const cors = {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "authorization, content-type",
      };
      if (req.method === "OPTIONS") {
        res.writeHead(204, { ...cors, "access-control-allow-methods": "GET, POST" }).end();
        return;
      }
      answer(req, Buffer.concat(chunks).toString("utf8")).then(
        (reply) => {
          const script = typeof reply.body === "string";
          res.writeHead(reply.status, {
            ...cors,
            "content-type": script ? "text/javascript; charset=utf-8" : "application/json",
            "request-id": id("req"),
          });
          res.end(script ? reply.body : JSON.stringify(reply.body));
        },
        (err: Error) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { type: "api_error", message: err.message } }));
        },
      );
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const host = opts.host ?? "127.0.0.1";
  const port = await listen(server, opts.port ?? 0, host);
  origin = `http://${urlHost(host)}:${port}`;
  return {
    url: origin,
    port,
    setWebhook: (next) => {
      webhook = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

if (isMain(import.meta.url)) {
  const webhookUrl = process.env.STRIPE_WEBHOOK_URL;
  const secret = process.env.STRIPE_WEBHOOK_SECRET;
  const standIn = await startStripeStandIn({
    port: Number(process.env.PORT ?? 12111),
    ...(webhookUrl && secret ? { webhook: { url: webhookUrl, secret } } : {}),
  });
  console.log(`Stripe stand-in on ${standIn.url} (STRIPE_API_URL=${standIn.url}, STRIPE_JS_URL=${standIn.url}/v3/)`);
}
