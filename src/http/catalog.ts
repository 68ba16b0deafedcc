/**
 * Catalog routes: SKU pages and listings for storefronts, and admin writes.
 */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { z } from "zod";
import { loadSkuViews } from "../cache/sku-views";
import { withDatabase } from "../db/client";
import { productSnapshot } from "../domain/catalog";
import { skus } from "../db/tables";
import { unwrap } from "../domain/errors";
import { orUnavailable } from "./problem";
import type { App } from "./route";
import { route, routeOne } from "./route";
import {
  ProductListSchema,
  ProductsQuery,
  SkuAdminViewSchema,
  SkuPublicViewSchema,
  SkuUpsertBody,
} from "./validation/catalog";
import { SkuParams } from "./validation/fields";

/** What the product listing answers. */
type ProductListing = z.output<typeof ProductListSchema>;

export function catalogRoutes(app: App): void {
  route(
    app,
    {
      method: "put",
      path: "/v1/admin/skus/{skuId}",
      tag: "Catalog",
      summary: "Create or update a SKU",
      description:
        "`stock` sets the units available for sale now: onHand becomes stock + reserved, so reservations in flight are kept. 201 when created.",
      access: "admin",
      params: SkuParams,
      body: SkuUpsertBody,
      ok: { status: 200, description: "The SKU with its stock counters", schema: SkuAdminViewSchema },
    },
    async (c, { params, body }) => {
      const { sku, created } = unwrap(
        await c.env.SKUS.getByName(params.skuId).upsert(params.skuId, {
          ...body,
          image: body.image ?? null,
          spec: body.spec ?? null,
          purchaseLimit: body.purchaseLimit ?? null,
          saleStartsAt: body.saleStartsAt ? new Date(body.saleStartsAt).toISOString() : null,
        }),
      );
      return c.json(sku, created ? 201 : 200);
    },
  );

  routeOne(
    app,
    {
      path: "/v1/admin/skus/{skuId}",
      tag: "Catalog",
      summary: "A SKU with its live stock counters",
      access: "admin",
      params: SkuParams,
      ok: { status: 200, description: "onHand, reserved, sold, available", schema: SkuAdminViewSchema },
    },
    (c, { skuId }) => c.env.SKUS.getByName(skuId).adminView(),
    ({ skuId }) => `no SKU ${skuId}`,
  );

  routeOne(
    app,
    {
      path: "/v1/skus/{skuId}",
      tag: "Catalog",
      summary: "A SKU as the storefront sees it",
      access: "none",
      params: SkuParams,
      ok: { status: 200, description: "Price, status and availability", schema: SkuPublicViewSchema },
    },
    async (c, { skuId }) => (await loadSkuViews(c.env, [skuId])).get(skuId),
    ({ skuId }) => `no SKU ${skuId}`,
  );

  route(
    app,
    {
      method: "get",
      path: "/v1/products",
      tag: "Catalog",
      summary: "Catalog listing (from Postgres)",
      description:
        "Active SKUs grouped by product, ordered by product id; `available` here may trail the live value by the queue delay.",
      access: "none",
      query: ProductsQuery,
      ok: { status: 200, description: "A page of products", schema: ProductListSchema },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c, { query }) => {
      const listing = await orUnavailable(
        () =>
          withDatabase(c.env, async (db) => {
            const filters = [eq(skus.status, "active")];
            if (query.merchantId) filters.push(eq(skus.merchantId, query.merchantId));
            if (query.cursor) filters.push(gt(skus.productId, query.cursor));
            const products = await db
              .selectDistinct({ productId: skus.productId })
              .from(skus)
              .where(and(...filters))
              .orderBy(asc(skus.productId))
              .limit(query.limit + 1);
            const page = products.slice(0, query.limit).map((p) => p.productId);
            const rows = page.length
              ? await db
                  .select()
                  .from(skus)
                  .where(and(inArray(skus.productId, page), eq(skus.status, "active")))
                  .orderBy(asc(skus.productId), asc(skus.skuId))
              : [];
            return { page, rows, more: products.length > query.limit };
          }),
        "products: Postgres unavailable",
        "the catalog listing is unavailable right now; retry shortly",
      );
      const items = listing.page.map((productId): ProductListing["items"][number] => {
        const group = listing.rows.filter((r) => r.productId === productId);
        const first = group[0]!;
        const prices = group.map((r) => r.price);
        return {
          productId,
          merchantId: first.merchantId,
          name: first.name,
          image: first.image,
          priceRange: { min: Math.min(...prices), max: Math.max(...prices), currency: first.currency },
          skus: group.map((r) => ({
            ...productSnapshot({ ...r, spec: r.spec ?? null }),
            price: r.price,
            currency: r.currency,
            status: r.status as "active",
            available: Math.max(0, r.onHand - r.reserved),
            purchaseLimit: r.purchaseLimit,
            saleStartsAt: r.saleStartsAt,
          })),
        };
      });
      const list: ProductListing = {
        items,
        next: listing.more ? (listing.page[listing.page.length - 1] ?? null) : null,
      };
      return c.json(list);
    },
  );
}
