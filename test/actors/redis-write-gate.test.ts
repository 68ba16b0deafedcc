// The per-isolate gate in front of Redis snapshot writes: a cap on writes in flight, and a
// circuit breaker so thousands of actors (e.g. all woken at once after a restart) do not
// each open a connection to a dead or hanging Redis, with one log line per state change.
import { afterEach, describe, expect, it, vi } from "vitest";
import { RedisUnavailableError, RedisWriteGate } from "../../src/cache/redis";

const env = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1", UPSTASH_REDIS_REST_TOKEN: "unused" } as Env;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => vi.restoreAllMocks());

describe("RedisWriteGate", () => {
  it("runs at most 8 writes at once and holds the others until a slot frees", async () => {
    // The gate's clock stands still: a waiting write gives up after 1 s of it, and on a busy
    // machine the five rounds of 20 ms writes can take that long in real time. The cap is the subject here.
    const gate = new RedisWriteGate(() => 0);
    let running = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        gate.run(env, async () => {
          running++;
          most = Math.max(most, running);
          await sleep(20);
          running--;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(most).toBe(8);
  });

  it("opens after 5 failures in a row, refusing writes untried with one log line, until a probe after the cooldown succeeds", async () => {
    let now = 1_000_000;
    const gate = new RedisWriteGate(() => now);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    let tried = 0;
    const failing = () =>
      gate.run(env, async () => {
        tried++;
        throw new Error("timed out");
      });

    for (let i = 0; i < 5; i++) await expect(failing()).rejects.toThrow("timed out");
    expect(gate.isOpen()).toBe(true);
    // A thousand more writes while it is open: none reaches Redis, none is logged.
    const refused = await Promise.allSettled(Array.from({ length: 1000 }, failing));
    expect(
      refused.every(
        (r) => r.status === "rejected" && r.reason instanceof RedisUnavailableError && r.reason.reason === "open",
      ),
    ).toBe(true);
    expect(tried).toBe(5);
    expect(warn).toHaveBeenCalledTimes(1);

    // After the cooldown (2 s, jittered) one write probes; it fails: open again, for longer, silently.
    now += 2_600;
    expect(gate.isOpen()).toBe(false);
    await expect(failing()).rejects.toThrow("timed out");
    expect(tried).toBe(6);
    expect(gate.isOpen()).toBe(true);
    now += 2_600;
    await expect(failing()).rejects.toBeInstanceOf(RedisUnavailableError); // 4 s cooldown now
    expect(tried).toBe(6);

    // The next probe succeeds: closed, one line, and writes flow again.
    now += 3_000;
    await expect(gate.run(env, async () => "ok")).resolves.toBe("ok");
    expect(gate.isOpen()).toBe(false);
    await expect(gate.run(env, async () => "again")).resolves.toBe("again");
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[1]?.[0])).toMatch(/snapshot writes resumed/);
    expect(log).not.toHaveBeenCalled();
  });
});
