/**
 * The Hono environment types every route shares.
 */
import type { Context, Hono } from "hono";

export type AppEnv = { Bindings: Env; Variables: { requestId: string } };
export type App = Hono<AppEnv>;
export type AppContext = Context<AppEnv>;
