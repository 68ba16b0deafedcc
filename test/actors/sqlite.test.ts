import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CartActor } from "../../src/actors/cart/cart-actor";
import { ActorSchema } from "../../src/actors/sqlite";
import { unique } from "../support/worker";

/** The statements an actor's storage is asked to run, through a recording SqlStorage. */
function recording(sql: SqlStorage): { sql: SqlStorage; statements: string[] } {
  const statements: string[] = [];
  const proxy = new Proxy(sql, {
    get(target, prop) {
      if (prop === "exec")
        return (query: string, ...bindings: SqlStorageValue[]) => {
          statements.push(query.trim().split(/\s+/).slice(0, 6).join(" "));
          return target.exec(query, ...bindings);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { sql: proxy, statements };
}

describe("actor schema (what an actor runs when it starts)", () => {
  it("runs the DDL on the first start only: a later start reads the catalog once, creates nothing and keeps the data", async () => {
    const ddl = [
      "CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY, n INTEGER NOT NULL)",
      "CREATE INDEX IF NOT EXISTS things_by_n ON things (n)",
    ];
    const stub = env.CARTS.getByName(`guest:${crypto.randomUUID()}`);
    const first = await runInDurableObject(stub, (_: CartActor, state) => {
      const { sql, statements } = recording(state.storage.sql);
      const schema = new ActorSchema(sql);
      for (const d of ddl) schema.ensure(d);
      sql.exec("INSERT INTO things (id, n) VALUES ('a', 1)");
      return statements;
    });
    expect(first.filter((s) => s.startsWith("CREATE"))).toHaveLength(2);

    await evictDurableObject(stub);
    const later = await runInDurableObject(stub, (_: CartActor, state) => {
      const { sql, statements } = recording(state.storage.sql);
      const schema = new ActorSchema(sql);
      for (const d of ddl) schema.ensure(d);
      const rows = sql.exec<{ n: number }>("SELECT n FROM things WHERE id = 'a'").toArray();
      return { statements, rows };
    });
    expect(later.statements.filter((s) => s.startsWith("CREATE"))).toEqual([]);
    expect(later.statements.filter((s) => s.includes("sqlite_master"))).toHaveLength(1);
    expect(later.rows).toEqual([{ n: 1 }]);
  });

  it("refuses a statement that does not declare a table or index by name", async () => {
    await runInDurableObject(env.SKUS.getByName(unique("schema-test")), (_actor, state) => {
      const schema = new ActorSchema(state.storage.sql);
      expect(() => schema.ensure("CREATE TABLE things (id TEXT)")).toThrow(/IF NOT EXISTS/);
      expect(() => schema.ensure("DROP TABLE things")).toThrow();
    });
  });
});
