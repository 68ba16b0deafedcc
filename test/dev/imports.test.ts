// The import graph of dev/: no cycle, and no module under a folder imports the module the
// folder belongs to (dev/stack/* never imports dev/stack.ts): each can be read from the bottom up.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../dev/util.ts";

const DEV = path.join(ROOT, "dev");

function devModules(): string[] {
  return (fs.readdirSync(DEV, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts") && !f.split(path.sep).includes("node_modules")) // a workspace's own packages (dev/api-types)
    .map((f) => path.join(DEV, f));
}

/** The dev/ modules `file` imports (static and dynamic imports, type-only ones included). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map(
    (m) => m[1]!,
  );
  return specs.map((s) => path.resolve(path.dirname(file), s)).filter((f) => f.startsWith(DEV + path.sep));
}

const rel = (f: string) => path.relative(ROOT, f);

describe("dev/ import graph", () => {
  const graph = new Map(devModules().map((f) => [f, importsOf(f)]));

  it("has no cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map(rel).join(" -> "));
        return;
      }
      state.set(f, "open");
      for (const g of graph.get(f) ?? []) visit(g, [...trail, f]);
      state.set(f, "done");
    };
    for (const f of graph.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it("has no module importing the module its folder belongs to", () => {
    const upward = [...graph].flatMap(([f, deps]) =>
      deps
        .filter((g) => (path.dirname(f) + path.sep).startsWith(g.replace(/\.ts$/, path.sep)))
        .map((g) => `${rel(f)} -> ${rel(g)}`),
    );
    expect(upward).toEqual([]);
  });
});
