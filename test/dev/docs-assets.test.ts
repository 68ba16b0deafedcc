// The API reference is a static asset of the Worker: built from swagger-ui-dist into
// public/docs/ and served by the asset layer configured in wrangler.toml, before the
// Worker, without touching any API path; so are the storefront (/shop/) and the ops page
// (/ops/). Uses wrangler's own reading of wrangler.toml and Miniflare's asset router, with
// a stub Worker that names the path it was asked for.
import fs from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDocsAssets } from "../../dev/docs-assets.ts";
import { buildWebAssets } from "../../dev/storefront-assets.ts";
import { ROOT } from "../../dev/util.ts";

let mf: Miniflare;
const get = (p: string) => mf.dispatchFetch(`http://localhost${p}`, { redirect: "manual" });

beforeAll(async () => {
  buildDocsAssets();
  buildWebAssets();
  const { workerOptions } = unstable_getMiniflareWorkerOptions(path.join(ROOT, "wrangler.toml"));
  mf = new Miniflare({
    modules: true,
    script: "export default { fetch(req) { return new Response('worker ' + new URL(req.url).pathname) } }",
    compatibilityDate: "2026-04-01",
    assets: workerOptions.assets,
  });
  await mf.ready;
});
afterAll(() => mf?.dispose());

describe("the API reference as static assets", () => {
  it("builds public/docs/ from node_modules with no third-party URL in the page", () => {
    const dir = path.join(ROOT, "public", "docs");
    for (const file of ["index.html", "init.js", "swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"])
      expect(fs.existsSync(path.join(dir, file)), file).toBe(true);
    const html = fs.readFileSync(path.join(dir, "index.html"), "utf8");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const init = fs.readFileSync(path.join(dir, "init.js"), "utf8");
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
  });

  it("serves /docs/ (and redirects /docs) from the assets", async () => {
    const redirect = await get("/docs");
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get("location")).toBe("/docs/");
    const page = await get("/docs/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain('id="swagger-ui"');
    const bundle = await get("/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
  });

  it("serves the storefront at /shop/ and the ops page at /ops/, each with its bundle", async () => {
    for (const [page, marker] of [
      ["/shop/", 'id="cart"'],
      ["/ops/", 'id="admin-token"'],
    ] as const) {
      const html = await get(page);
      expect(html.status, page).toBe(200);
      const text = await html.text();
      expect(text, page).toContain(marker);
      expect(text, page).not.toMatch(/(src|href)="(https?:)?\/\//);
      const bundle = await get(`${page}app.js`);
      expect(bundle.status, `${page}app.js`).toBe(200);
    }
  });

  it("leaves every API path to the Worker", async () => {
    for (const p of [
      "/",
      "/openapi.json",
      "/healthz",
      "/v1/cart",
      "/v1/skus/tee-red-m",
      "/v1/admin/reconcile",
      "/v1/admin/dead-letters",
      "/docs/nothing-here",
    ]) {
      const res = await get(p);
      expect(await res.text(), p).toBe(`worker ${p}`);
    }
  });
});
