import type { Promotion } from "../../src/domain/promotions";

/** A percent-off code with no conditions; `over` sets what a test needs. */
export const promotionFixture = (over: Partial<Promotion> = {}): Promotion => ({
  promotionId: "p1",
  code: "SAVE",
  kind: "percent",
  value: 10,
  get: null,
  currency: null,
  appliesTo: null,
  minSubtotal: null,
  startsAt: null,
  endsAt: null,
  limit: null,
  limitPerCustomer: null,
  stripes: 1,
  active: true,
  version: 1,
  updatedAt: "2026-11-01T00:00:00.000Z",
  ...over,
});
