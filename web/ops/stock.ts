// The stock table (GET /v1/admin/stock): per SKU and per stripe onHand, reserved and sold,
// each SKU's drift (actors against inventory_audit against orders) in red, the last
// reconciliation's result, and "Reconcile now" (POST /v1/admin/reconcile). Promotions with a
// budget follow: used, reserved, remaining.
import { h, mount, tableHead } from "../shop/dom";
import { admin, type ReconcileReport, type Stock } from "./api";
import { formatNumber } from "./chart";
import { showError, showOk } from "./notice";

/** A budget's limit or remainder: none is "unlimited". */
const budget = (n: number | null) => (n === null ? "unlimited" : formatNumber(n));
/** A count the API could not read (the ledger did not answer) is a dash, not a zero. */
const known = (n: number | null) => (n === null ? "—" : formatNumber(n));

function lastReconciliation(stock: Stock): HTMLElement {
  const at = stock.reconciledAt ? new Date(stock.reconciledAt).toLocaleString() : null;
  if (!at || !stock.reconcile)
    return h("p", { class: "muted", "data-testid": "reconcile-result" }, "Not reconciled yet.");
  const drifting = stock.reconcile.drift.length;
  return h(
    "p",
    { "data-testid": "reconcile-result", class: stock.reconcile.ok ? "good" : "drift" },
    stock.reconcile.ok ? `Last reconciliation ${at}: all agree.` : `Last reconciliation ${at}: ${drifting} drifting.`,
  );
}

export function drawStock(target: HTMLElement, stock: Stock, refresh: () => Promise<void>): void {
  const reconcile = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        reconcile.disabled = true;
        try {
          const report = await admin<ReconcileReport>("POST", "/v1/admin/reconcile");
          const drifting = report.drifting.length;
          showOk(
            `Reconciled ${report.checked} SKUs: ${drifting === 0 ? "no drift" : `${drifting} drifting`}, ${report.repaired} repaired.`,
          );
        } catch (err) {
          showError(err);
        }
        reconcile.disabled = false;
        await refresh();
      },
    },
    "Reconcile now",
  );
  const rows = stock.skus.flatMap((sku) => [
    h(
      "tr",
      { "data-sku": sku.skuId, class: sku.drift !== 0 ? "drift" : null },
      h("th", { scope: "row" }, sku.skuId),
      h("td", {}, "all"),
      h("td", { "data-field": "onHand" }, formatNumber(sku.onHand)),
      h("td", { "data-field": "reserved" }, formatNumber(sku.reserved)),
      h("td", { "data-field": "sold" }, formatNumber(sku.sold)),
      h("td", { "data-field": "drift" }, sku.drift === 0 ? "none" : formatNumber(sku.drift)),
    ),
    // One stripe is the SKU itself: its row would repeat the line above.
    ...(sku.stripes.length > 1
      ? sku.stripes.map((s) =>
          h(
            "tr",
            { class: "stripe", "data-stripe": `${sku.skuId}~${s.stripe}` },
            h("td", {}),
            h("td", {}, `stripe ${s.stripe}`),
            h("td", {}, formatNumber(s.onHand)),
            h("td", {}, formatNumber(s.reserved)),
            h("td", {}, formatNumber(s.sold)),
            h("td", {}),
          ),
        )
      : []),
  ]);
  mount(
    target,
    h("div", { class: "section-head" }, h("h2", {}, "Stock"), reconcile),
    lastReconciliation(stock),
    h(
      "table",
      { "data-testid": "stock-table" },
      tableHead("SKU", "Stripe", "On hand", "Reserved", "Sold", "Drift"),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No SKUs."))),
    ),
    stock.next === null
      ? null
      : h(
          "p",
          { class: "muted", "data-testid": "stock-more" },
          `The first ${stock.skus.length} SKUs by id; GET /v1/admin/stock?after=${stock.next} lists the next ones.`,
        ),
    h("h2", {}, "Promotions"),
    stock.promotions.length === 0
      ? h("p", { class: "muted" }, "No promotions with a budget.")
      : h(
          "table",
          { "data-testid": "promotions-table" },
          tableHead("Code", "Promotion", "Limit", "Used", "Reserved", "Remaining"),
          h(
            "tbody",
            {},
            stock.promotions.map((p) =>
              h(
                "tr",
                { "data-promotion": p.id },
                h("th", { scope: "row" }, p.code ?? "(automatic)"),
                h("td", {}, p.id),
                h("td", {}, budget(p.limit)),
                h("td", { "data-field": "used" }, known(p.used)),
                h("td", { "data-field": "reserved" }, known(p.reserved)),
                h("td", { "data-field": "remaining" }, budget(p.remaining)),
              ),
            ),
          ),
        ),
  );
}
