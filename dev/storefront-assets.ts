// `npm run shop:build`: bundles the browser pages under web/ (plain TypeScript, no framework)
// into public/<page>/ with esbuild, next to the API reference (dev/docs-assets.ts, whose
// build step runs this too). The Worker serves them as static assets: the storefront
// (web/shop) at /shop/, the ops page (web/ops) at /ops/. The pages call the API exactly as
// any other client would (the ops page with the admin token its operator types in).
import fs from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";
import { isMain, ROOT } from "./util.ts";

/** Each page: web/<page>/main.ts bundled to app.js, with its index.html and style.css beside it. */
export const WEB_PAGES = ["shop", "ops"] as const;
export type WebPage = (typeof WEB_PAGES)[number];

export function webAssetsDir(page: WebPage): string {
  return path.join(ROOT, "public", page);
}

export function buildPageAssets(page: WebPage, outDir = webAssetsDir(page)): string {
  const source = path.join(ROOT, "web", page);
  fs.mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [path.join(source, "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    outfile: path.join(outDir, "app.js"),
    logLevel: "warning",
  });
  for (const file of ["index.html", "style.css"]) fs.copyFileSync(path.join(source, file), path.join(outDir, file));
  return outDir;
}

/** Builds every page; returns their output directories. */
export function buildWebAssets(): string[] {
  return WEB_PAGES.map((page) => buildPageAssets(page));
}

if (isMain(import.meta.url)) {
  for (const out of buildWebAssets()) console.log(`page assets in ${path.relative(process.cwd(), out) || out}`);
}
