// `npm run shop:build`: bundles the storefront (web/shop, plain TypeScript, no framework)
// into public/shop/ with esbuild, next to the API reference (dev/docs-assets.ts, whose
// build step runs this too). The Worker serves it as static assets at /shop/; the pages
// call the public API exactly as any other client would.
import fs from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";
import { isMain, ROOT } from "./util.ts";

export const SHOP_SOURCE_DIR = path.join(ROOT, "web", "shop");
export const SHOP_ASSETS_DIR = path.join(ROOT, "public", "shop");

export function buildStorefrontAssets(outDir = SHOP_ASSETS_DIR): string {
  fs.mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [path.join(SHOP_SOURCE_DIR, "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    outfile: path.join(outDir, "app.js"),
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"])
    fs.copyFileSync(path.join(SHOP_SOURCE_DIR, file), path.join(outDir, file));
  return outDir;
}

if (isMain(import.meta.url)) {
  const out = buildStorefrontAssets();
  console.log(`storefront assets in ${path.relative(process.cwd(), out) || out}`);
}
