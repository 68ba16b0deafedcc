/**
 * Carries the request id into actor calls. An RPC call has no headers, so
 * while a request is served, a call on a traced stub goes through the
 * actor's `traced(context, method, args)` instead of `method(...args)`: the
 * actor runs the method inside that log context and logs one line for the
 * call (its outcome and duration). Outside a request (alarms, cron, the
 * consumer) the call goes straight to the method.
 *
 * The Worker and every actor wrap their env once (`tracedEnv`), so code
 * keeps writing `env.ORDERS.getByName(id).placeCheckout(...)`.
 */
import { currentRequestId } from "../log/context";

/** What travels with a traced call. */
export interface TraceContext {
  requestId: string;
}

/** The actor namespaces whose classes extend Actor (and so answer `traced`). */
const TRACED_BINDINGS = ["CARTS", "SKUS", "ORDERS", "PROMOTIONS"] as const;

/** Stub members that are not actor methods: passed through untouched. */
const PASS_THROUGH = new Set(["fetch", "connect", "id", "name", "then", "dup", "toJSON", "constructor"]);

interface TracedTarget {
  traced(context: TraceContext, method: string, args: unknown[]): Promise<unknown>;
}

function tracedStub<S extends object>(stub: S): S {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      // Native stub methods (fetch, connect) must be called on the stub itself, not on this proxy.
      if (typeof prop !== "string" || PASS_THROUGH.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const requestId = currentRequestId();
        if (requestId === undefined) return Reflect.apply(value, target, args);
        return (target as unknown as TracedTarget).traced({ requestId }, prop, args);
      };
    },
  });
}

function tracedNamespace<N extends DurableObjectNamespace>(namespace: N): N {
  const getByName: DurableObjectNamespace["getByName"] = (name, options) =>
    tracedStub(namespace.getByName(name, options));
  const get: DurableObjectNamespace["get"] = (id, options) => tracedStub(namespace.get(id, options));
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === "getByName") return getByName;
      if (prop === "get") return get;
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const traced = new WeakMap<Env, Env>();

/** The env with its actor namespaces traced; the same object for the same env. */
export function tracedEnv(env: Env): Env {
  let wrapped = traced.get(env);
  if (wrapped) return wrapped;
  wrapped = { ...env };
  for (const binding of TRACED_BINDINGS) {
    const namespace = env[binding] as DurableObjectNamespace | undefined;
    if (namespace) (wrapped as unknown as Record<string, DurableObjectNamespace>)[binding] = tracedNamespace(namespace);
  }
  traced.set(env, wrapped);
  return wrapped;
}

/** What a call's result says about its outcome: a refusal's code (`{ ok: false, code }`), else "ok". */
export function outcomeOf(result: unknown): string {
  if (result !== null && typeof result === "object" && (result as { ok?: unknown }).ok === false) {
    const code = (result as { code?: unknown }).code;
    return typeof code === "string" ? code : "refused";
  }
  return "ok";
}
