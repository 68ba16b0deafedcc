/**
 * Units a buyer holds away from their home stripe, counted at the home (domain/carry.ts):
 * the reports a stripe sends when it learns a new stripe count, the carried units it keeps
 * from the others' reports, and whether it has them all yet. Reports and releases travel
 * through the outbox (at least once, in order per target); both apply once, by the
 * report's part and by reservation id, so a second delivery changes nothing.
 */
import type { CarriedRelease, CarriedUnits, CarryGeneration, CarryReport, PartsReceived } from "../../domain/carry";
import { carriedTo, carryReports, FIRST_GENERATION, reportsComplete } from "../../domain/carry";
import { stripeName } from "../../domain/stripes";
import type { StripeCommand } from "../commands";
import type { SkuStore, SkuHost } from "./store";

/** How long a buy under a purchase limit waits for the reports of a change before a retryable refusal. */
const REPORT_WAIT_MS = 3_000;

export class SkuCarry {
  private current: CarryGeneration;
  /** Whether every report of the current generation is in (null: to be read from storage). */
  private completeMemo: boolean | null = null;
  /** Buyers waiting for the reports. */
  private readonly waiting = new Set<() => void>();
  /** The last change wrote reports or releases: they leave at once, since buyers wait for them. */
  private wrote = false;

  constructor(
    private readonly host: SkuHost,
    private readonly store: SkuStore,
    /** This stripe's open reservations (the ledger's). */
    private readonly openUnits: () => CarriedUnits[],
  ) {
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS carry_generation (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL, sources INTEGER NOT NULL)",
    );
    // Report parts received, per generation and sender; units carried here, one row per reservation (0 once released).
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS carry_parts (generation INTEGER NOT NULL, from_stripe INTEGER NOT NULL, part INTEGER NOT NULL, parts INTEGER NOT NULL, PRIMARY KEY (generation, from_stripe, part))",
    );
    host.schema.ensure(
      "CREATE TABLE IF NOT EXISTS carried (generation INTEGER NOT NULL, reservation_id TEXT NOT NULL, owner_id TEXT NOT NULL, units INTEGER NOT NULL, PRIMARY KEY (generation, reservation_id))",
    );
    host.schema.ensure("CREATE INDEX IF NOT EXISTS carried_by_owner ON carried (generation, owner_id)");
    this.current = this.load();
  }

  /** The generation this stripe has learned (stripe 0 sends its own with every configuration). */
  get generation(): CarryGeneration {
    return this.current;
  }

  /** A configuration older than what this stripe knows (delivered again): applying it would undo the change. */
  isStale(g: CarryGeneration): boolean {
    return g.generation < this.current.generation;
  }

  /**
   * Inside the transaction that gives this stripe a new stripe count: reports the units it
   * holds for buyers whose home is now another stripe, and starts waiting for the others'.
   */
  learn(g: CarryGeneration): void {
    if (g.generation <= this.current.generation) return;
    this.host.sql.exec(
      `INSERT INTO carry_generation (id, generation, sources) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, sources = excluded.sources`,
      g.generation,
      g.sources,
    );
    this.host.sql.exec("DELETE FROM carried WHERE generation < ?", g.generation);
    this.host.sql.exec("DELETE FROM carry_parts WHERE generation < ?", g.generation);
    this.current = g;
    this.completeMemo = null;
    const reports = carryReports(this.openUnits(), this.store.address.index, this.store.stripes, g);
    for (const { to, report } of reports) this.send({ target: this.target(to), name: "receiveCarried", args: report });
    // Reports that came before the configuration may already make it complete.
    if (this.counted) this.wake();
  }

  /** A report from another stripe; a part already received, or of a generation this stripe is past, changes nothing. */
  receive(report: CarryReport): void {
    if (report.generation < this.current.generation) return;
    this.host.transact(() => {
      const seen = this.host.sql
        .exec(
          "SELECT 1 FROM carry_parts WHERE generation = ? AND from_stripe = ? AND part = ?",
          report.generation,
          report.from,
          report.part,
        )
        .toArray();
      if (seen.length > 0) return;
      this.host.sql.exec(
        "INSERT INTO carry_parts (generation, from_stripe, part, parts) VALUES (?, ?, ?, ?)",
        report.generation,
        report.from,
        report.part,
        report.parts,
      );
      // A release that arrived first left its row at 0: the report does not bring the units back.
      this.host.sql.exec(
        `INSERT OR IGNORE INTO carried (generation, reservation_id, owner_id, units)
         SELECT ?, value ->> '$.reservationId', value ->> '$.ownerId', value ->> '$.units' FROM json_each(?)`,
        report.generation,
        JSON.stringify(report.units),
      );
    });
    if (report.generation === this.current.generation) {
      this.completeMemo = null;
      if (this.counted) this.wake();
    }
  }

  /** A reservation carried here was closed at its stripe: its units no longer count. Idempotent by reservation id. */
  release(r: CarriedRelease): void {
    if (r.generation < this.current.generation) return;
    this.host.transact(() =>
      this.host.sql.exec(
        `INSERT INTO carried (generation, reservation_id, owner_id, units) VALUES (?, ?, ?, 0)
         ON CONFLICT (generation, reservation_id) DO UPDATE SET units = 0`,
        r.generation,
        r.reservationId,
        r.ownerId,
      ),
    );
  }

  /** Inside the transaction that closes a reservation here: its buyer's home stops counting it. */
  closed(reservationId: string, ownerId: string): void {
    const to = carriedTo(ownerId, this.store.address.index, this.store.stripes, this.current);
    if (to === null) return;
    const release: CarriedRelease = { generation: this.current.generation, reservationId, ownerId };
    this.send({ target: this.target(to), name: "releaseCarried", args: release });
  }

  /** Units this buyer holds or bought at other stripes, counted here (their home). */
  units(ownerId: string): number {
    if (this.current.generation === 0) return 0;
    return this.host.sql
      .exec<{ n: number }>(
        "SELECT coalesce(sum(units), 0) AS n FROM carried WHERE generation = ? AND owner_id = ?",
        this.current.generation,
        ownerId,
      )
      .one().n;
  }

  /** Whether every stripe's report of the current generation is in: until then nothing is granted under a limit. */
  get counted(): boolean {
    this.completeMemo ??= this.current.generation === 0 || this.reportsIn();
    return this.completeMemo;
  }

  /** For a SKU with a purchase limit: waits until `counted`, at most REPORT_WAIT_MS (the grant checks again). */
  async awaitReports(): Promise<void> {
    if (this.counted || this.store.current?.catalog.purchaseLimit == null) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, REPORT_WAIT_MS);
      this.waiting.add(done);
    });
  }

  /** Whether the last change wrote reports or releases (and forgets it). */
  takeWritten(): boolean {
    const wrote = this.wrote;
    this.wrote = false;
    return wrote;
  }

  /** Storage rolled back: read the generation again. */
  reload(): void {
    this.current = this.load();
    this.completeMemo = null;
  }

  private reportsIn(): boolean {
    const received = this.host.sql
      .exec<PartsReceived & Record<string, SqlStorageValue>>(
        'SELECT from_stripe AS "from", count(*) AS got, max(parts) AS parts FROM carry_parts WHERE generation = ? GROUP BY from_stripe',
        this.current.generation,
      )
      .toArray();
    return reportsComplete(this.store.address.index, this.store.stripes, this.current, received);
  }

  private wake(): void {
    for (const done of [...this.waiting]) done();
  }

  private target(index: number): `sku:${string}` {
    return `sku:${stripeName(this.store.address.skuId, index)}`;
  }

  private send(command: StripeCommand): void {
    this.host.outbox.addCommand(command);
    this.wrote = true;
  }

  private load(): CarryGeneration {
    const row = this.host.sql
      .exec<{ generation: number; sources: number }>("SELECT generation, sources FROM carry_generation WHERE id = 1")
      .toArray()[0];
    return row ? { generation: row.generation, sources: row.sources } : FIRST_GENERATION;
  }
}
