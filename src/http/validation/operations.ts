/**
 * Operations schemas: the admin's cart key and the health report.
 */
import { z } from "zod";
import { UUID as GUEST_CART_ID, USER_ID } from "../identity";

export const CartKeyParams = z.object({
  cartKey: z
    .string()
    .refine(
      (key) =>
        key.startsWith("user:")
          ? USER_ID.test(key.slice(5))
          : key.startsWith("guest:") && GUEST_CART_ID.test(key.slice(6)),
      "user:{id} or guest:{uuid}, as the public API accepts them",
    )
    .meta({ example: "guest:4f7c1c1e-8d3a-4a52-9b7e-2f0d6c1a9e11" }),
});

export const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({
      postgres: z.string(),
      redis: z.string(),
      inventory: z.string().meta({ description: "ok, or how many SKUs the reconciliation found drifting" }),
      auth: z.string().meta({
        description:
          'user sign-in: "ok (key set)", "ok (HS256 with JWT_SECRET)", "misconfigured: <the missing setting>", "key set unavailable: <why>" or "not configured: …"',
      }),
    }),
  })
  .meta({
    examples: [
      {
        status: "degraded",
        checks: { postgres: "ok", redis: "disabled (snapshots off)", inventory: "ok", auth: "ok (key set)" },
      },
    ],
  });
