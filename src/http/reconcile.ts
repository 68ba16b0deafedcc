/**
 * Admin routes of the inventory reconciliation.
 */
import { z } from "zod";
import { reconcileInventory } from "../cron/reconcile";
import { orUnavailable } from "./problem";
import type { App } from "./route";
import { route } from "./route";

const Counters = z.object({ onHand: z.number().int(), reserved: z.number().int(), sold: z.number().int() });
const ReconcileReportSchema = z.object({
  checked: z.number().int(),
  repaired: z.number().int(),
  drifting: z.array(z.object({ skuId: z.string(), drift: Counters, repaired: z.boolean() })),
  promotions: z.object({
    checked: z.number().int(),
    drifting: z.array(z.object({ promotionId: z.string(), used: z.number().int(), redeemed: z.number().int() })),
  }),
});

export function reconcileRoutes(app: App): void {
  route(
    app,
    {
      method: "post",
      path: "/v1/admin/reconcile",
      tag: "Operations",
      summary: "Compare every SKU actor's counters with its inventory audit now",
      description:
        "Runs the hourly reconciliation now. Each drift (actor counters minus audit sums) is listed and recorded; a drift already seen by the previous run with the actor unchanged is repaired with one `reconcile` audit row, the actor being the source of truth.",
      access: "admin",
      ok: {
        status: 200,
        description: "What was checked, what drifts, what was repaired",
        schema: ReconcileReportSchema,
      },
      problems: ["DEPENDENCY_UNAVAILABLE"],
    },
    async (c) => {
      const report = await orUnavailable(
        () => reconcileInventory(c.env),
        "reconciliation failed",
        "Postgres is unavailable; the reconciliation runs again with the hourly cron",
      );
      return c.json(report);
    },
  );
}
