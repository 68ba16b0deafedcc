// The ops page (/ops/) in a browser while a flash sale runs against the local stack: 1,000
// buys for 200 units; the charts show the attempts and the wins; once every winner has paid
// the stock table reads sold 200, reserved 0, no drift. Then a poisoned event (a NUL byte):
// it shows as a dead letter, a replay lands it once (a second replay applies nothing), and a
// discarded letter is kept on record. `SCREENSHOTS=1` rewrites docs/ops-page.png.
import http from "node:http";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, saveScreenshot, startBrowserStack, type BrowserStack } from "../support/browser.ts";
import { httpVia, isDevProxyDrop, newId, type HttpResult } from "../support/e2e.ts";
import { poisonedCartEvent } from "../support/poison.ts";

let s: BrowserStack;
let page: Page;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const sku = newId("ops-flash");
const UNITS = 200;
const ATTEMPTS = 1000;

beforeAll(async () => {
  s = await startBrowserStack();
  ({ page } = await s.device({ width: 1440, height: 1500 }));
  await page.goto("/ops/");
  await page.getByLabel("Admin token").fill(s.stack.secrets.ADMIN_TOKEN);
  await page.getByRole("button", { name: "Open" }).click();
  await page.waitForSelector("body[data-refreshes]");
});
afterAll(async () => {
  agent.destroy();
  await s?.stop();
});

/**
 * Sends until wrangler dev's own proxy lets the request through (see isDevProxyDrop); only for
 * requests that are safe to repeat (a buy with its Idempotency-Key, a payment event by its id).
 */
async function throughDevProxy(send: () => Promise<HttpResult>): Promise<{ res: HttpResult; sends: number }> {
  for (let sends = 1; ; sends++) {
    const res = await send();
    if (!isDevProxyDrop(res) || sends === 5) return { res, sends };
  }
}

/** One buy by its own user. */
async function buy(i: number): Promise<{ res: HttpResult; sends: number }> {
  const headers = { ...(await s.stack.api.user(`ops-buyer-${i}`)), "idempotency-key": `ops-${sku}-${i}` };
  return throughDevProxy(() =>
    httpVia(agent, s.stack.baseUrl, "POST", `/v1/flash/${sku}/orders`, {
      headers,
      body: { quantity: 1 },
      signal: AbortSignal.timeout(170_000),
    }),
  );
}

/** What the stock table's row for `skuId` says. */
async function stockRow(skuId: string) {
  const row = page.locator(`tr[data-sku="${skuId}"]`);
  const field = (name: string) => row.locator(`[data-field="${name}"]`).textContent();
  return {
    sold: await field("sold"),
    reserved: await field("reserved"),
    drift: await field("drift"),
    red: ((await row.getAttribute("class")) ?? "").includes("drift"),
  };
}

/** A legend figure of the flash chart (`attempts <sku>` or `wins <sku>`), as a number. */
async function flashFigure(series: string): Promise<number> {
  const figure = await page
    .getByTestId("chart-flash")
    .locator(`li[data-series="${series}"]`)
    .getAttribute("data-figure", { timeout: 1000 })
    .catch(() => null);
  return Number(figure ?? -1);
}

const notice = () => page.locator("#notice").textContent();

describeInBrowser("ops page", () => {
  it(`a flash sale of ${UNITS} units, ${ATTEMPTS} attempts: charts, then sold ${UNITS}, reserved 0, no drift`, async () => {
    const put = await s.stack.api.putSku(sku, {
      productId: "p-ops",
      name: "Ops sneaker",
      merchantId: "m-ops",
      price: 500,
      stock: UNITS,
      purchaseLimit: 1,
      stripes: 4,
    });
    expect(put.status).toBe(201);
    await expect.poll(() => stockRow(sku), { timeout: 30_000 }).toMatchObject({ sold: "0", reserved: "0" });

    const buys = await Promise.all(Array.from({ length: ATTEMPTS }, (_, i) => buy(i)));
    const wins = buys.filter(({ res, sends }) => res.status === 201 || (sends > 1 && res.status === 200));
    expect(wins).toHaveLength(UNITS);
    const sends = buys.reduce((n, b) => n + b.sends, 0);

    // Every send the Worker saw is an attempt; a send dropped by the dev proxy may not have reached it.
    // The data points reach the page within a few seconds (they are written off the request path).
    const figures = async () => ({
      wins: await flashFigure(`wins ${sku}`),
      attempts: Math.min(ATTEMPTS, await flashFigure(`attempts ${sku}`)),
    });
    await expect.poll(figures, { timeout: 60_000 }).toEqual({ wins: UNITS, attempts: ATTEMPTS });
    const attempts = await flashFigure(`attempts ${sku}`);
    expect(attempts).toBeLessThanOrEqual(sends);
    await expect
      .poll(() => page.getByTestId("refusals").locator('[data-code="SOLD_OUT"]').count(), { timeout: 30_000 })
      .toBe(1);
    await expect.poll(() => stockRow(sku), { timeout: 30_000 }).toMatchObject({ reserved: String(UNITS) });

    // Every winner pays (the payment provider's signed webhook).
    for (let i = 0; i < wins.length; i += 25) {
      await Promise.all(
        wins.slice(i, i + 25).map(async ({ res }) => {
          const { res: paid } = await throughDevProxy(() =>
            s.stack.api.webhook({
              eventId: `evt_${res.body.orderId}`,
              type: "payment.succeeded",
              orderId: res.body.orderId,
              transactionId: `tx_${res.body.orderId}`,
              amount: res.body.total,
              currency: res.body.currency,
            }),
          );
          expect(paid.status, paid.text).toBe(200);
        }),
      );
    }
    // Each paid order commits its unit through its outbox (retried with backoff up to a minute
    // when a SKU actor is busy): the actors get there first, then the page shows it.
    await expect
      .poll(async () => (await s.stack.api.skuCounters(sku)).sold, { timeout: 180_000, interval: 1000 })
      .toBe(UNITS);
    await expect
      .poll(() => stockRow(sku), { timeout: 30_000 })
      .toEqual({ sold: String(UNITS), reserved: "0", drift: "none", red: false });
    expect(await page.locator(`tr[data-stripe^="${sku}~"]`).count()).toBe(4);

    // Reconciled once Postgres has caught up with the actors (the queue lag the page shows): an
    // audit still behind is a drift of the moment, which the page would rightly show in red.
    const audit = async () =>
      (
        await s.stack.db.query(
          "select coalesce(sum(reserved_delta), 0)::int as reserved, coalesce(sum(sold_delta), 0)::int as sold from inventory_audit where sku_id = $1",
          [sku],
        )
      ).rows[0];
    await expect.poll(audit, { timeout: 90_000 }).toEqual({ reserved: 0, sold: UNITS });
    await page.getByRole("button", { name: "Reconcile now" }).click();
    await expect.poll(notice, { timeout: 60_000 }).toMatch(/^Reconciled \d+ SKUs: no drift/);
    // The page reads the stock view again after the notice: under load that took over poll's default second.
    await expect
      .poll(() => page.getByTestId("reconcile-result").textContent(), { timeout: 30_000 })
      .toMatch(/all agree/);
  }, 420_000);

  it("an operator mends a poisoned event from the dead-letter table: a replay lands once, a discard is kept on record", async () => {
    const poison = async (eventId: string, cartKey: string) => {
      const res = await s.stack.api.post(
        "/v1/dev/queues/cart-events/messages",
        poisonedCartEvent(eventId, cartKey),
        s.stack.api.admin(),
      );
      expect(res.status, res.text).toBe(202);
      return page.locator(`tr[data-event="${eventId}"]`);
    };
    const eventId = newId("evt-poison");
    const cartKey = `guest:${crypto.randomUUID()}`;
    const letter = await poison(eventId, cartKey);
    await letter.waitFor({ timeout: 60_000 });
    expect(await letter.locator(".reason").textContent()).toContain("NUL byte");
    await letter.locator("summary").click();
    const payload = letter.getByTestId("payload");
    // Kept with the NUL made visible (the JSON shows the text `\u0000`).
    const stored = await payload.inputValue();
    expect(stored).toContain("Tee\\\\u0000 with a NUL");
    await saveScreenshot(page, "ops-page.png");

    // The operator fixes the data in the payload, then replays: it lands.
    await payload.fill(stored.replace("Tee\\\\u0000 with a NUL", "Tee with a NUL"));
    await letter.getByRole("button", { name: "Replay" }).click();
    await expect.poll(notice).toContain(`Replayed ${eventId}: it landed`);
    await page.locator("#dead-letter-filter").selectOption("all");
    await expect.poll(() => letter.getAttribute("data-status")).toBe("replayed");
    // Replayed again: nothing is applied a second time.
    await letter.getByRole("button", { name: "Replay" }).click();
    await expect.poll(notice).toContain(`Replayed ${eventId}: it had already landed, nothing applied again`);
    const landed = async () =>
      (
        await s.stack.db.query(
          `select (select count(*)::int from processed_events where event_id = $1) as processed,
                  (select array_agg(name) from cart_items where cart_key = $2) as lines`,
          [eventId, cartKey],
        )
      ).rows[0];
    await expect.poll(landed, { timeout: 30_000 }).toEqual({ processed: 1, lines: ["Tee with a NUL"] });

    // Discard closes the letter and keeps it.
    const dropped = newId("evt-discard");
    const other = await poison(dropped, `guest:${crypto.randomUUID()}`);
    await other.waitFor({ timeout: 60_000 });
    await other.getByRole("button", { name: "Discard" }).click();
    await expect.poll(notice).toContain(`Discarded ${dropped}; the record is kept`);
    await page.locator("#dead-letter-filter").selectOption("discarded");
    await expect.poll(() => other.getAttribute("data-status")).toBe("discarded");
    expect(await other.getByRole("button", { name: "Replay" }).count()).toBe(0);
    const kept = await s.stack.api.get("/v1/admin/dead-letters?status=discarded", s.stack.api.admin());
    expect(kept.body.deadLetters.map((l: { eventId: string }) => l.eventId)).toContain(dropped);
  });
});
