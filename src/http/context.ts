/**
 * The Hono environment types every route shares.
 */
import type { Context, Hono } from "hono";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    /** The operation served, as "METHOD /path/{template}" (set by route(); the metrics' route label). */
    route?: string;
    /** The problem code answered, if any (set by problem(); the metrics' refusal code). */
    problemCode?: string;
  };
};
export type App = Hono<AppEnv>;
export type AppContext = Context<AppEnv>;
