/**
 * A limited promotion's budget: a stock ledger (the SKU actor, named
 * `promotion:{id}`) holding one unit per redemption (docs/decisions.md 16).
 * Its limit is the ledger's stock, its per-customer limit the ledger's
 * purchase limit, its stripes the ledger's stripes; a checkout reserves one
 * unit with its stock and the order commits or releases it like a
 * reservation. This module sets the ledger from a promotion's definition and
 * reads its counters back.
 */
import type { Outcome } from "../../domain/errors";
import { refuse } from "../../domain/errors";
import type { Promotion } from "../../domain/promotions";
import { budgetLedgerId, isLimited, UNLIMITED_BUDGET } from "../../domain/promotions";

/** What the admin API shows of a budget; all null for a promotion without limits. */
export interface BudgetCounters {
  used: number | null;
  reserved: number | null;
  remaining: number | null;
}

const NO_BUDGET: BudgetCounters = { used: null, reserved: null, remaining: null };

/** The ledger's stock for a definition: its limit, or a budget that never runs out (per-customer limit only). */
function budgetOf(p: Pick<Promotion, "limit" | "limitPerCustomer">): number {
  if (!isLimited(p)) return 0;
  return p.limit ?? UNLIMITED_BUDGET;
}

/**
 * Sets the ledger to a new definition: the limit moves by the difference
 * (exact while redemptions are in flight), a limit below what is used and
 * reserved is refused. A promotion that never had limits has no ledger.
 */
export async function configureBudget(
  env: Env,
  promotionId: string,
  prev: Promotion | null,
  next: Omit<Promotion, "promotionId" | "version" | "updatedAt">,
): Promise<Outcome<{ counters: BudgetCounters }>> {
  if (!isLimited(next) && !(prev && isLimited(prev))) return { ok: true, counters: NO_BUDGET };
  const ledgerId = budgetLedgerId(promotionId);
  const written = await env.SKUS.getByName(ledgerId).upsert(ledgerId, {
    productId: "promotion-budget",
    merchantId: "edge-cart",
    name: `Redemptions of promotion ${promotionId}`,
    image: null,
    spec: null,
    price: 0,
    currency: "USD",
    status: next.active && isLimited(next) ? "active" : "inactive",
    purchaseLimit: next.limitPerCustomer,
    stripes: next.stripes,
    saleStartsAt: null,
    stock: budgetOf(next) - (prev ? budgetOf(prev) : 0),
    stockMode: "delta",
  });
  if (!written.ok)
    return refuse("PROMOTION_LIMIT_TOO_LOW", "the limit cannot go below the redemptions already used and reserved");
  return { ok: true, counters: countersOf(next, written.sku) };
}

/** The budget's counters as the ledger has them now. */
export async function budgetCounters(env: Env, p: Promotion): Promise<BudgetCounters> {
  if (!isLimited(p)) return NO_BUDGET;
  const view = await env.SKUS.getByName(budgetLedgerId(p.promotionId)).adminView();
  return view ? countersOf(p, view) : NO_BUDGET;
}

function countersOf(p: Pick<Promotion, "limit">, view: { sold: number; reserved: number; available: number }) {
  return { used: view.sold, reserved: view.reserved, remaining: p.limit === null ? null : view.available };
}
