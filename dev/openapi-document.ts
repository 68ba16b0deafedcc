// The OpenAPI document the Worker serves at /openapi.json, built in Node without starting it:
// the route modules register their operations on import, and the one workerd-only module they
// reach (`cloudflare:workers`, for the actor classes' base class) is answered by a stub.
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./util.ts";

const STUB = `data:text/javascript,${encodeURIComponent("export class DurableObject {}")}`;
const HOOKS = `data:text/javascript,${encodeURIComponent(
  `export async function resolve(specifier, context, next) {
    return specifier === "cloudflare:workers" ? { url: ${JSON.stringify(STUB)}, shortCircuit: true } : next(specifier, context);
  }`,
)}`;

export async function openApiDocument(): Promise<Record<string, unknown>> {
  register(HOOKS);
  const src = (file: string) => pathToFileURL(path.join(ROOT, "src", "http", file)).href;
  await import(src("app.ts")); // registers every route
  const openapi = (await import(src("openapi.ts"))) as { openApiDocument(): Record<string, unknown> };
  return openapi.openApiDocument();
}
