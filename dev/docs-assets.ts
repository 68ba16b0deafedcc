// `npm run docs:build`: builds the interactive API reference served at /docs/ as a
// static asset of the Worker ([assets] in wrangler.toml, directory public/). Swagger UI
// is copied from node_modules (swagger-ui-dist), so the page loads nothing from another
// host. wrangler runs this as its [build] step (dev, deploy, deploy --dry-run); the
// workers test set-up runs it too. public/ is generated and git-ignored.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { buildWebAssets } from "./storefront-assets.ts";
import { isMain, ROOT } from "./util.ts";

export const DOCS_ASSETS_DIR = path.join(ROOT, "public", "docs");

/** The files taken from swagger-ui-dist as they are (licence files included). */
const COPIED = [
  "swagger-ui-bundle.js",
  "swagger-ui.css",
  "favicon-32x32.png",
  "favicon-16x16.png",
  "LICENSE",
  "NOTICE",
];

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>edge-cart API reference</title>
  <link rel="stylesheet" href="./swagger-ui.css" />
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
  <style>body { margin: 0; } .swagger-ui .topbar { display: none; }</style>
</head>
<body>
  <noscript>The interactive reference needs JavaScript; the raw document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js"></script>
  <script src="./init.js"></script>
</body>
</html>
`;

// Every operation expanded, with its request and response examples; no call to the
// public validator badge (validatorUrl: null); "Try it out" calls this origin.
const INIT_JS = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "full",
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

export function buildDocsAssets(outDir = DOCS_ASSETS_DIR): string {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve("swagger-ui-dist/package.json"));
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of COPIED) fs.copyFileSync(path.join(dist, file), path.join(outDir, file));
  fs.writeFileSync(path.join(outDir, "index.html"), INDEX_HTML);
  fs.writeFileSync(path.join(outDir, "init.js"), INIT_JS);
  return outDir;
}

if (isMain(import.meta.url)) {
  const out = buildDocsAssets();
  console.log(`API reference assets in ${path.relative(process.cwd(), out) || out}`);
  // The storefront and the ops page are the other static asset sets; one build step (wrangler.toml [build]) makes all.
  for (const out of buildWebAssets()) console.log(`page assets in ${path.relative(process.cwd(), out) || out}`);
}
