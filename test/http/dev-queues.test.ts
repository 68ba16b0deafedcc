// POST /v1/dev/queues/{queue}/messages: a raw message on an event queue, for the ops page's
// browser test (a poisoned event). Only a development stack has it, and only with the admin token.
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deadLetters } from "../../src/db/tables";
import { app } from "../../src/http/app";
import { poisonedCartEvent } from "../support/poison";
import { ADMIN, api, db, eventually, unique } from "../support/worker";

const PATH = "/v1/dev/queues/cart-events/messages";

/** The Worker as `npm run dev` runs it (ENVIRONMENT=development); the tests' own Worker runs as "test". */
async function inDevelopment(path: string, headers: Record<string, string>, body: unknown) {
  const res = await app.fetch(
    new Request(`http://x${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    }),
    { ...env, ENVIRONMENT: "development" } as Env,
    createExecutionContext(),
  );
  return { status: res.status, body: (await res.json()) as any };
}

describe("dev route: a raw message on an event queue", () => {
  it("is a plain 404 outside development, admin token or not", async () => {
    const event = poisonedCartEvent(unique("evt"), `guest:${crypto.randomUUID()}`);
    for (const headers of [ADMIN, {}]) {
      const res = await api(PATH, { headers, body: event });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("NOT_FOUND");
    }
    for (const environment of ["production", "staging"]) {
      const res = await app.fetch(
        new Request(`http://x${PATH}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...ADMIN },
          body: JSON.stringify(event),
        }),
        { ...env, ENVIRONMENT: environment } as Env,
        createExecutionContext(),
      );
      expect(res.status, environment).toBe(404);
    }
  });

  it("in development needs the admin token and a known queue", async () => {
    const event = poisonedCartEvent(unique("evt"), `guest:${crypto.randomUUID()}`);
    expect((await inDevelopment(PATH, {}, event)).status).toBe(401);
    expect((await inDevelopment(PATH, { authorization: "Bearer nope" }, event)).status).toBe(403);
    const unknown = await inDevelopment("/v1/dev/queues/cart-alerts/messages", ADMIN, event);
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toContain("cart-events, order-events");
  });

  it("in development sends the message as it is: a NUL byte reaches the consumer, which dead-letters it", async () => {
    const eventId = unique("evt-poison");
    const sent = await inDevelopment(PATH, ADMIN, poisonedCartEvent(eventId, `guest:${crypto.randomUUID()}`));
    expect(sent).toEqual({ status: 202, body: { queue: "cart-events", sent: true } });
    const [letter] = await eventually(
      async () => {
        const rows = await db((d) => d.select().from(deadLetters).where(sql`${deadLetters.body}->>'id' = ${eventId}`));
        return rows.length ? rows : null;
      },
      20_000,
      "the dead letter",
    );
    expect(letter!.queue).toBe("cart-events");
    expect(letter!.error).toContain("NUL byte");
    expect((letter!.body as any).data.upserted[0].name).toBe("Tee\\u0000 with a NUL");
  });
});
