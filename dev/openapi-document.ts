// The OpenAPI document the Worker serves at /openapi.json, built in Node without starting it:
// esbuild bundles the route modules (they register their operations on import) with the one
// workerd-only module they reach, `cloudflare:workers` (the actor classes' base class),
// replaced by a stub, and Node runs the bundle.
import { build } from "esbuild";
import { ROOT } from "./util.ts";

const ENTRY = `import "./src/http/app.ts"; export { openApiDocument } from "./src/http/openapi.ts";`;

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, sourcefile: "openapi-entry.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "warning",
    plugins: [
      {
        name: "workerd-stub",
        setup(b) {
          b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: "cloudflare:workers", namespace: "stub" }));
          b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
            contents: "export class DurableObject {}\nexport const env = {};",
          }));
        },
      },
    ],
  });
  const code = bundle.outputFiles[0]!.text;
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as {
    openApiDocument(): Record<string, unknown>;
  };
  return mod.openApiDocument();
}
