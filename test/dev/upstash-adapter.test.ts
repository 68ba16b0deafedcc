// The unmodified @upstash/redis client against dev/upstash-adapter.ts in front of the
// real Redis of this machine (REDIS_URL, default redis://127.0.0.1:6379).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { startUpstashAdapter, type UpstashAdapter } from "../../dev/upstash-adapter.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const TOKEN = "test-token-" + Math.random().toString(36).slice(2);
const prefix = `test:upstash:${Math.random().toString(36).slice(2, 10)}:`;
const k = (name: string) => prefix + name;

let adapter: UpstashAdapter;
let redis: Redis;

function client(extra: Partial<RedisConfigNodejs> = {}): Redis {
  return new Redis({ url: adapter.url, token: TOKEN, retry: false, enableTelemetry: false, ...extra });
}

/** Raw protocol request, to assert the exact wire format. */
async function raw(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(adapter.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

beforeAll(async () => {
  adapter = await startUpstashAdapter({ redisUrl: REDIS_URL, token: TOKEN, port: 0 });
  redis = client();
});

afterAll(async () => {
  if (!adapter) return;
  const keys = await redis.keys(prefix + "*");
  if (keys.length) await redis.del(...keys);
  expect(await redis.keys(prefix + "*")).toEqual([]);
  await adapter.close();
});

describe("upstash adapter with @upstash/redis", () => {
  it("listens on a random port and reports its URL", () => {
    expect(adapter.port).toBeGreaterThan(0);
    expect(adapter.url).toBe(`http://127.0.0.1:${adapter.port}`);
  });

  it("set/get with automatic JSON (de)serialization", async () => {
    const cart = { id: "c1", items: [{ sku: "A", qty: 2 }], total: 1999, note: null };
    expect(await redis.set(k("json"), cart)).toBe("OK");
    expect(await redis.get(k("json"))).toEqual(cart);
    await redis.set(k("num"), 42);
    expect(await redis.get(k("num"))).toBe(42);
    expect(await redis.get(k("missing"))).toBeNull();
  });

  it("keeps emoji and non-ASCII strings byte-exact", async () => {
    const text = "héllo wörld — 日本語 ✓ 🛒🎉 Ωμέγα";
    await redis.set(k("utf8"), text);
    expect(await redis.get(k("utf8"))).toBe(text);
    // Redis stored the UTF-8 bytes, not something re-encoded on the way.
    expect(await redis.strlen(k("utf8"))).toBe(Buffer.byteLength(text, "utf8"));
  });

  it("hset / hgetall / hmget", async () => {
    expect(await redis.hset(k("h"), { name: "Ünïcode 🧺", qty: 3, meta: { color: "red" } })).toBe(3);
    expect(await redis.hgetall(k("h"))).toEqual({ name: "Ünïcode 🧺", qty: 3, meta: { color: "red" } });
    expect(await redis.hmget(k("h"), "name", "nope")).toEqual({ name: "Ünïcode 🧺", nope: null });
    expect(await redis.hgetall(k("no-hash"))).toBeNull();
  });

  it("incr / incrby", async () => {
    expect(await redis.incr(k("counter"))).toBe(1);
    expect(await redis.incrby(k("counter"), 41)).toBe(42);
    expect(await redis.decr(k("counter"))).toBe(41);
  });

  it("expire / ttl", async () => {
    await redis.set(k("ttl"), "v");
    expect(await redis.ttl(k("ttl"))).toBe(-1);
    expect(await redis.expire(k("ttl"), 100)).toBe(1);
    const ttl = await redis.ttl(k("ttl"));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.ttl(k("no-such-key"))).toBe(-2);
    await redis.set(k("ex"), "v", { ex: 50 });
    expect(await redis.ttl(k("ex"))).toBeGreaterThan(40);
  });

  it("mget returns nils in place", async () => {
    await redis.set(k("m1"), "one");
    await redis.set(k("m3"), { three: 3 });
    expect(await redis.mget(k("m1"), k("m2"), k("m3"))).toEqual(["one", null, { three: 3 }]);
  });

  it("pipeline with mixed results, including a failed command", async () => {
    await redis.set(k("p-str"), "not a number");
    const p = redis.pipeline();
    p.set(k("p1"), { a: 1 });
    p.get(k("p1"));
    p.incr(k("p-n"));
    p.get(k("p-missing"));
    p.hset(k("p-h"), { f: "v" });
    p.hgetall(k("p-h"));
    p.incr(k("p-str"));
    p.lpush(k("p-l"), "x", "y");
    const res = await p.exec({ keepErrors: true });
    expect(res.map((r) => r.result)).toEqual(["OK", { a: 1 }, 1, null, 1, { f: "v" }, undefined, 2]);
    expect(res.map((r) => Boolean(r.error))).toEqual([false, false, false, false, false, false, true, false]);
    expect(res[6]!.error).toMatch(/ERR value is not an integer/);
    // Without keepErrors the client throws for the failed slot.
    const p2 = redis.pipeline();
    p2.get(k("p1"));
    p2.incr(k("p-str"));
    await expect(p2.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
  });

  it("multi() runs a transaction", async () => {
    const tx = redis.multi();
    tx.set(k("tx"), 10);
    tx.incrby(k("tx"), 5);
    tx.get(k("tx"));
    tx.sadd(k("tx-set"), "a", "b", "a");
    tx.smembers(k("tx-set"));
    const res = await tx.exec();
    expect(res.slice(0, 4)).toEqual(["OK", 15, 15, 2]);
    expect((res[4] as string[]).sort()).toEqual(["a", "b"]);
  });

  it("multi-exec: a runtime error fails one slot, a queueing error aborts everything", async () => {
    await redis.set(k("tx-str"), "abc");
    const tx = redis.multi();
    tx.set(k("tx2"), "1");
    tx.incr(k("tx-str"));
    tx.incr(k("tx2"));
    const res = await tx.exec({ keepErrors: true });
    expect(res.map((r) => r.result)).toEqual(["OK", undefined, 2]);
    expect(res[1]!.error).toMatch(/ERR value is not an integer/);

    const aborted = await raw("/multi-exec", [
      ["SET", k("tx-aborted"), "1"],
      ["NOSUCHCOMMAND", "x"],
    ]);
    expect(aborted.status).toBe(400);
    expect(aborted.json.error).toMatch(/unknown command/i);
    expect(await redis.exists(k("tx-aborted"))).toBe(0);
  });

  it("eval of a Lua script with KEYS/ARGV returning arrays, ints and nil", async () => {
    const script = `
      redis.call('SET', KEYS[1], ARGV[1])
      local n = redis.call('INCRBY', KEYS[2], tonumber(ARGV[2]))
      return { KEYS[1], redis.call('GET', KEYS[1]), n, { 7, 'nested ✓' } }`;
    expect(await redis.eval(script, [k("lua-a"), k("lua-n")], ["value-ü", "5"])).toEqual([
      k("lua-a"),
      "value-ü",
      5,
      [7, "nested ✓"],
    ]);
    expect(await redis.eval("return redis.call('GET', KEYS[1])", [k("lua-none")], [])).toBeNull();
    expect(await redis.eval("return tonumber(ARGV[1]) * 2", [], ["21"])).toBe(42);

    const sha = await redis.scriptLoad("return ARGV[1] .. ':' .. KEYS[1]");
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [k("s")], ["hi"])).toBe(`hi:${k("s")}`);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("a command error surfaces as a thrown error with Redis's message", async () => {
    await redis.set(k("str"), "abc");
    await expect(redis.incr(k("str"))).rejects.toThrow(/ERR value is not an integer or out of range/);
    // Without auto-pipelining the command goes to POST / and the error is an HTTP 400.
    const direct = client({ enableAutoPipelining: false });
    await expect(direct.incr(k("str"))).rejects.toThrow(/ERR value is not an integer or out of range/);
    await expect(direct.hget(k("str"), "f")).rejects.toThrow(/WRONGTYPE/);
    const res = await raw("/", ["INCR", k("str")]);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "ERR value is not an integer or out of range" });
  });

  it("rejects a wrong or missing token with 401", async () => {
    const bad = new Redis({ url: adapter.url, token: "wrong", retry: false, enableTelemetry: false });
    await expect(bad.get(k("json"))).rejects.toThrow(/Unauthorized/);
    const noAuth = await fetch(adapter.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(noAuth.status).toBe(401);
    expect(await noAuth.json()).toEqual({ error: "Unauthorized" });
  });

  it("works with responseEncoding: false (plain JSON strings)", async () => {
    const plain = client({ responseEncoding: false, enableAutoPipelining: false });
    const text = "plain ✓ 🎯 ß";
    await plain.set(k("plain"), text);
    expect(await plain.get(k("plain"))).toBe(text);
    await plain.hset(k("plain-h"), { a: "ü", n: 2 });
    expect(await plain.hgetall(k("plain-h"))).toEqual({ a: "ü", n: 2 });
    const p = plain.pipeline();
    p.get(k("plain"));
    p.mget(k("plain"), k("nope"));
    expect(await p.exec()).toEqual([text, [text, null]]);
  });

  it("wire format: base64 only when asked, nested arrays, nil, integers, sync token", async () => {
    const lua = ["EVAL", "return {1, {2, 'x', false}, 'ü'}", 0];
    const b64 = await raw("/", lua, { "upstash-encoding": "base64" });
    expect(b64.status).toBe(200);
    expect(b64.json).toEqual({ result: [1, [2, "eA==", null], Buffer.from("ü").toString("base64")] });
    expect(b64.headers.get("upstash-sync-token")).toMatch(/^\d+$/);
    const plain = await raw("/", lua);
    expect(plain.json).toEqual({ result: [1, [2, "x", null], "ü"] });
    const pipe = await raw("/pipeline", [["GET", k("never")], ["ECHO", "hi"], ["NOSUCHCOMMAND"]]);
    expect(pipe.json[0]).toEqual({ result: null });
    expect(pipe.json[1]).toEqual({ result: "hi" });
    expect(pipe.json[2].error).toMatch(/unknown command/i);
    expect((await raw("/pipeline", [])).status).toBe(400);
    expect((await raw("/", { not: "a command" })).status).toBe(400);
  });

  it("round-trips a ~200 KB value", async () => {
    const unit = "0123456789abcdef-äöü-🛒|";
    const big = unit.repeat(Math.ceil(200_000 / Buffer.byteLength(unit)));
    expect(Buffer.byteLength(big)).toBeGreaterThan(200_000);
    await redis.set(k("big"), big);
    expect(await redis.get(k("big"))).toBe(big);
    expect(await redis.strlen(k("big"))).toBe(Buffer.byteLength(big));
    const obj = { rows: Array.from({ length: 3000 }, (_, i) => ({ i, name: `item ${i} ✓` })) };
    await redis.set(k("big-json"), obj);
    expect(await redis.get(k("big-json"))).toEqual(obj);
  });
});
