// The OpenAPI document (/openapi.json) checked by two independent validators, and its
// examples checked against the zod schemas that validate real requests and responses.
import fs from "node:fs";
import path from "node:path";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { validate } from "@readme/openapi-parser";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { ROOT } from "../../dev/util.ts";

// The route files import the actor classes, which extend workerd's DurableObject.
vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

type Json = Record<string, any>;
/** What the test reads of src/http/openapi.ts's `Operation`. */
interface Op {
  method: string;
  path: string;
  access: string;
  body?: z.ZodType;
  ok: { status: number; schema?: z.ZodType };
}
let doc: Json;
let ops: Op[];

// Imported by a computed path: src/ is type-checked against the workerd types (tsconfig.json), not Node's.
const SRC = "../../src/http/";
beforeAll(async () => {
  await import(`${SRC}app.ts`); // registers every route
  const openapi = (await import(`${SRC}openapi.ts`)) as { operations: Op[]; openApiDocument(): Json };
  ops = openapi.operations;
  doc = JSON.parse(JSON.stringify(openapi.openApiDocument()));
});

/** The one warning we keep: the live cart's WebSocket upgrade answers 101, never 2xx. */
// The WebSocket routes answer 101, which the rule does not count as success.
const ACCEPTED_WARNINGS = new Set([
  "operation-2xx-response #/paths/~1v1~1cart~1live/get/responses",
  "operation-2xx-response #/paths/~1v1~1skus~1{skuId}~1live/get/responses",
]);

describe("/openapi.json", () => {
  it("passes Redocly's recommended lint with no errors (and no warnings but the WebSocket ones)", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
    const describe = (p: (typeof problems)[number]) => `${p.ruleId} ${p.location[0]?.pointer ?? ""}`;
    expect(problems.filter((p) => p.severity === "error").map((p) => `${describe(p)}: ${p.message}`)).toEqual([]);
    expect(problems.map(describe).filter((p) => !ACCEPTED_WARNINGS.has(p))).toEqual([]);
  });

  it("is valid for @readme/openapi-parser (every $ref resolves)", async () => {
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("has no zod-local $refs and a relative server", () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain("#/$defs/");
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(text).not.toContain('localhost:8787"}');
  });

  it("states the repository's license, the one package.json names", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(doc.info.license).toEqual({ name: pkg.license, identifier: pkg.license });
    expect(fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8")).toMatch(new RegExp(`^${pkg.license} License\\n`));
  });

  it("marks public operations `security: []` and protected ones with a scheme", () => {
    for (const op of ops) {
      const security = doc.paths[op.path][op.method].security;
      if (op.access === "none") expect(security, `${op.method} ${op.path}`).toEqual([]);
      else expect(security.length, `${op.method} ${op.path}`).toBeGreaterThan(0);
    }
  });

  it("gives every request and response body an example that the zod schema accepts", () => {
    const failures: string[] = [];
    const check = (where: string, schema: z.ZodType, example: unknown) => {
      if (example === undefined) return failures.push(`${where}: no example`);
      const parsed = schema.safeParse(example);
      if (!parsed.success)
        failures.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
    };
    for (const op of ops) {
      const operation = doc.paths[op.path][op.method];
      const name = `${op.method.toUpperCase()} ${op.path}`;
      if (op.body) check(`${name} request`, op.body, operation.requestBody.content["application/json"].example);
      if (op.ok.schema)
        check(
          `${name} ${op.ok.status}`,
          op.ok.schema,
          operation.responses[op.ok.status].content["application/json"].example,
        );
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        const problem = response.content?.["application/problem+json"];
        if (!problem) continue;
        expect(Object.keys(problem.examples ?? {}).length, `${name} ${status}`).toBeGreaterThan(0);
        for (const [code, ex] of Object.entries<Json>(problem.examples)) {
          expect(ex.value, `${name} ${status} ${code}`).toMatchObject({
            code,
            status: Number(status),
            type: `urn:edge-cart:problem:${code.toLowerCase().replace(/_/g, "-")}`,
          });
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("lists the promotion refusals wherever a code is redeemed or applied", () => {
    const refusals = [
      "PROMOTION_EXPIRED",
      "PROMOTION_NOT_APPLICABLE",
      "PROMOTION_EXHAUSTED",
      "PROMOTION_LIMIT_PER_CUSTOMER",
    ];
    for (const path of ["/v1/checkout", "/v1/flash/{skuId}/orders", "/v1/cart/promotions"]) {
      const conflicts = doc.paths[path].post.responses["409"].content["application/problem+json"].examples;
      expect(Object.keys(conflicts), path).toEqual(expect.arrayContaining(refusals));
    }
  });

  it("documents every registered operation once", () => {
    const documented = Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(documented.sort()).toEqual(ops.map((op) => `${op.method} ${op.path}`).sort());
    expect(ops.map((op) => `${op.method} ${op.path}`)).toEqual(
      expect.arrayContaining([
        "post /v1/admin/reconcile",
        "post /v1/payments/stripe/webhook",
        "post /v1/orders/{orderId}/payment-intent",
        "get /v1/payments/config",
      ]),
    );
    expect(doc.paths["/v1/payments/stripe/webhook"].post.security).toEqual([{ stripeSignature: [] }]);
  });
});
