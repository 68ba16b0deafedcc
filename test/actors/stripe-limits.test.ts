// The per-buyer purchase limit across a change of a SKU's stripe count (docs/invariants.md 11): most
// buyers get a new home stripe, which must still count the units they hold or bought at the old one.
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SkuActor } from "../../src/actors/sku/sku-actor";
import { reserveAtHome } from "../../src/actors/sku/sku-routing";
import type { CarryReport } from "../../src/domain/carry";
import type { FlashBuyRequest } from "../../src/domain/sku-contract";
import { homeStripe, stripeName } from "../../src/domain/stripes";
import { SkuCatalogSchema } from "../../src/contracts/sku";
import type { Reply } from "../support/worker";
import { api, asUser, checkout, eventually, putSku, unique } from "../support/worker";

const LIMIT = 2;
const BUYERS = 12;
const STOCK = 500;

type User = Awaited<ReturnType<typeof asUser>>;
/** A unit a buyer holds: a flash order, a checkout order, or a bare reservation (the checkout's step). */
interface Held {
  kind: "flash" | "order" | "reservation";
  id: string;
}
interface Buyer extends User {
  /** How the buyer buys: flash buy-now, or checkout (whose reservation is taken at their home stripe). */
  via: "flash" | "checkout";
  held: Held[];
}
/** One attempt to buy one unit: granted, or the refusal's code. */
type Attempt = { ok: true; held: Held } | { ok: false; code: string };

async function flashBuy(user: User, skuId: string): Promise<Attempt> {
  const res = await api(`/v1/flash/${skuId}/orders`, {
    headers: { ...user.headers, "idempotency-key": unique("k") },
    body: { quantity: 1 },
  });
  return res.status === 201 ? { ok: true, held: { kind: "flash", id: res.body.orderId } } : refused(res);
}

/** The whole checkout over HTTP: one unit into the cart, then an order. */
async function checkoutOne(user: User, skuId: string): Promise<Attempt> {
  const added = await api("/v1/cart/items", { headers: user.headers, body: { skuId, quantity: 1 } });
  if (added.status !== 200) return refused(added);
  const res = await checkout(user.headers);
  return res.status === 201 ? { ok: true, held: { kind: "order", id: res.body.orderId } } : refused(res);
}

/** The checkout's reservation at the buyer's home stripe, as the order actor takes it. */
async function reserveOne(user: User, skuId: string): Promise<Attempt> {
  const orderId = unique("ord");
  const reserved = await reserveAtHome(env, skuId, {
    reservationId: `${orderId}.1`,
    orderId,
    ownerId: user.cartKey,
    quantity: 1,
    expiresAt: Date.now() + 3_600_000,
  });
  return reserved.ok ? { ok: true, held: { kind: "reservation", id: `${orderId}.1` } } : reserved;
}

const refused = (res: Reply): Attempt => ({ ok: false, code: res.body?.code ?? String(res.status) });

/** Tries to buy `times` units at once (a checkout buyer's tries are reservations); keeps what was granted. */
async function buyAtOnce(buyer: Buyer, skuId: string, times: number): Promise<Attempt[]> {
  const buy = buyer.via === "flash" ? flashBuy : reserveOne;
  const attempts = await Promise.all(Array.from({ length: times }, () => buy(buyer, skuId)));
  for (const a of attempts) if (a.ok) buyer.held.push(a.held);
  return attempts;
}

/** Takes the limit, one unit at a time: flash buys, or checkouts. */
async function buyLimit(buyer: Buyer, skuId: string): Promise<void> {
  for (let i = 0; i < LIMIT; i++) {
    const a = buyer.via === "flash" ? await flashBuy(buyer, skuId) : await checkoutOne(buyer, skuId);
    if (!a.ok) throw new Error(`${buyer.userId} could not buy: ${a.code}`);
    buyer.held.push(a.held);
  }
}

/** Buyers whose home stripe moves from `from` to `to` stripes come first: they are the ones at risk. */
async function buyers(count: number, from: number, to: number): Promise<Buyer[]> {
  const out: Buyer[] = [];
  while (out.length < count) {
    const user = out.length < 3 ? await buyerHomed((home) => home(from) !== home(to)) : await asUser();
    const via = out.length === 0 || (out.length >= 3 && out.length % 2 === 1) ? "flash" : "checkout";
    out.push({ ...user, via, held: [] });
  }
  return out;
}

// What stripe 0 sends its stripes with a change from 2 to 4 stripes (stripes 0 and 1 may hold units).
const TO_FOUR = { generation: 1_000, sources: 2 };

async function catalogOf(skuId: string, stripes: number) {
  return { ...SkuCatalogSchema.parse(await env.SKUS.getByName(skuId).adminView()), stripes };
}

/** A buyer whose home stripe under `count` stripes passes `test`. */
async function buyerHomed(test: (home: (count: number) => number) => boolean): Promise<User> {
  for (;;) {
    const user = await asUser();
    if (test((count) => homeStripe(user.cartKey, count))) return user;
  }
}

function flashRequest(user: User, stripes: number): FlashBuyRequest {
  const keyHash = crypto.randomUUID().replaceAll("-", "");
  return { keyHash, ownerId: user.cartKey, requestHash: "flash:1", quantity: 1, ttlMs: 900_000, stripes };
}

const ownerUnits = async (skuId: string, buyer: Buyer) =>
  (await env.SKUS.getByName(skuId).quote(buyer.cartKey))?.ownerUnits;

/** Gives one held unit back: its order cancelled by the buyer, or expired by its actor's own clock and alarm. */
async function giveBack(buyer: Buyer, how: "cancel" | "expire"): Promise<void> {
  const unit = buyer.held.shift()!;
  if (how === "cancel") {
    const res = await api(`/v1/orders/${unit.id}/cancel`, { method: "POST", headers: buyer.headers });
    expect(res.body.status).toBe("CANCELLED");
    return;
  }
  if (unit.kind !== "order") throw new Error("only a checkout order's clock is moved here");
  const order = env.ORDERS.getByName(unit.id);
  const placed = await order.get();
  await order.advanceClock(Date.parse(placed!.expiresAt) - Date.now() + 1000);
  await runDurableObjectAlarm(order);
  expect((await api(`/v1/orders/${unit.id}`, { headers: buyer.headers })).body.status).toBe("EXPIRED");
}

describe("per-buyer limit across a change of stripes", () => {
  for (const [from, to] of [
    [1, 4],
    [4, 1],
    [2, 8],
  ] as const) {
    it(`${from} -> ${to} stripes: nobody buys past the limit, and a unit given back can be bought again`, async () => {
      const skuId = await putSku(unique("limit"), { stock: STOCK, stripes: from, purchaseLimit: LIMIT });
      const all = await buyers(BUYERS, from, to);
      // Each buyer takes the limit before the change: two flash buys or two checkouts.
      await Promise.all(all.map((b) => buyLimit(b, skuId)));

      await putSku(skuId, { stock: STOCK, stripes: to, purchaseLimit: LIMIT });

      // Everyone tries again, all at once.
      const again = await Promise.all(all.map((b) => buyAtOnce(b, skuId, 2)));
      const over = all.filter((_, i) => again[i]!.some((a) => a.ok)).length;
      expect(`${over} of ${BUYERS} buyers bought more`).toBe(`0 of ${BUYERS} buyers bought more`);
      expect(new Set(again.flat().map((a) => (a.ok ? "granted" : a.code)))).toEqual(new Set(["LIMIT_EXCEEDED"]));
      // The cart's check (the quote) sees the units held at the old home too.
      expect(await Promise.all(all.map((b) => ownerUnits(skuId, b)))).toEqual(all.map(() => LIMIT));

      // Three buyers whose home moved give one unit back (a flash order and a checkout order cancelled, a
      // checkout order expired): each can buy exactly one more, however many times they try at once.
      const [flashCancels, checkoutCancels, checkoutExpires] = all;
      await giveBack(flashCancels!, "cancel");
      await giveBack(checkoutCancels!, "cancel");
      await giveBack(checkoutExpires!, "expire");
      const refilling = [flashCancels!, checkoutCancels!, checkoutExpires!];
      for (const b of refilling) {
        await eventually(async () => (await ownerUnits(skuId, b)) === LIMIT - 1, 10_000, "the unit given back counted");
      }
      const refill = await Promise.all(refilling.map((b) => buyAtOnce(b, skuId, 3)));
      expect(refill.map((tries) => tries.filter((a) => a.ok).length)).toEqual([1, 1, 1]);
      expect(await Promise.all(all.map((b) => ownerUnits(skuId, b)))).toEqual(all.map(() => LIMIT));
    });
  }

  it("a change while buys are in flight never lets a buyer past the limit", async () => {
    const skuId = await putSku(unique("race"), { stock: STOCK, stripes: 2, purchaseLimit: LIMIT });
    const all = await buyers(24, 2, 8);
    await Promise.all(all.map((b) => buyAtOnce(b, skuId, 1)));
    expect(all.map((b) => b.held.length)).toEqual(all.map(() => 1));

    // Waves of buys launched a few ms apart, so they land before, during and after the admin's change
    // (the stagger only spreads the requests; nothing waits for time to pass), then one more right after it.
    const waves = [0, 5, 15, 40, 80].map(
      (ms) =>
        new Promise<void>((resolve) =>
          setTimeout(() => void Promise.all(all.map((b) => buyAtOnce(b, skuId, 1))).then(() => resolve()), ms),
        ),
    );
    await putSku(skuId, { stock: STOCK, stripes: 8, purchaseLimit: LIMIT });
    await Promise.all([...waves, Promise.all(all.map((b) => buyAtOnce(b, skuId, 2)))]);
    // Then each buyer tops up until refused for the limit (a refusal while the stripes settle is retried).
    for (const b of all) {
      for (let tries = 0; tries < 20; tries++) {
        const [a] = await buyAtOnce(b, skuId, 1);
        if (!a!.ok && a!.code === "LIMIT_EXCEEDED") break;
      }
    }
    const units = all.map((b) => b.held.length);
    const over = units.filter((n) => n > LIMIT).length;
    expect(`${over} of ${all.length} buyers hold more than ${LIMIT} (${units.join(" ")})`).toBe(
      `0 of ${all.length} buyers hold more than ${LIMIT} (${all.map(() => LIMIT).join(" ")})`,
    );
  });

  it("a new home grants nothing under a limit until every stripe's report is in, and counts each unit once", async () => {
    const skuId = await putSku(unique("reports"), { stock: 50, stripes: 2, purchaseLimit: LIMIT });
    // Home under 4 stripes: stripe 2 or 3, which did not exist under 2.
    const buyer = await buyerHomed((home) => home(4) >= 2);
    const home = env.SKUS.getByName(stripeName(skuId, homeStripe(buyer.cartKey, 4)));
    await home.configureStripe(await catalogOf(skuId, 4), TO_FOUR);
    const buy = () => home.flashBuy(flashRequest(buyer, 4));

    // No report yet: the buy waits a moment, then is refused as retryable.
    expect(await buy()).toMatchObject({ ok: false, code: "DEPENDENCY_UNAVAILABLE" });
    // A buy that waits while the reports arrive is answered once the last one is in.
    const waiting = buy();
    const part = { generation: TO_FOUR.generation, part: 0, parts: 1 };
    const fromZero: CarryReport = {
      ...part,
      from: 0,
      units: [{ reservationId: "r0", ownerId: buyer.cartKey, units: 1 }],
    };
    const fromOne: CarryReport = {
      ...part,
      from: 1,
      units: [{ reservationId: "r1", ownerId: buyer.cartKey, units: 1 }],
    };
    await home.receiveCarried(fromZero);
    await home.receiveCarried(fromOne);
    expect(await waiting).toMatchObject({ ok: false, code: "LIMIT_EXCEEDED" });
    // Delivered twice, a report counts once; a release counts once, and a report delivered again after it does not undo it.
    await home.receiveCarried(fromZero);
    expect(await home.ownerUnitsOf(buyer.cartKey)).toBe(2);
    const release = { generation: TO_FOUR.generation, reservationId: "r0", ownerId: buyer.cartKey };
    await home.releaseCarried(release);
    await home.releaseCarried(release);
    await home.receiveCarried(fromZero);
    expect(await home.ownerUnitsOf(buyer.cartKey)).toBe(1);
    const tries = await Promise.all([buy(), buy(), buy()]);
    expect(tries.filter((t) => t.ok)).toHaveLength(1);
  });

  it("a stripe that learns a new count while a buy waits for its commit does not grant it there", async () => {
    const skuId = await putSku(unique("turn"), { stock: 50, stripes: 2, purchaseLimit: LIMIT });
    const buyer = await buyerHomed((home) => home(2) === 1 && home(4) !== 1);
    const catalog = await catalogOf(skuId, 4);
    const placed = await runInDurableObject(env.SKUS.getByName(stripeName(skuId, 1)), (actor: SkuActor) => {
      // Routed under 2 stripes, where stripe 1 is the buyer's home; the new count lands before the buy's commit,
      // and with it the report to the buyer's new home, which cannot include this buy.
      const buying = actor.flashBuy(flashRequest(buyer, 2));
      actor.configureStripe(catalog, TO_FOUR);
      return buying;
    });
    expect(placed).toMatchObject({ ok: false, code: "STALE_ROUTE" });
  });
});
