// The Node versions the project supports (`engines` in package.json, stated in the README):
// `npm ci` prints no EBADENGINE warning on them. npm checks the engines of the packages it
// installs, so every package the lockfile installs here must accept the first release of
// each supported line.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../dev/util.ts";

type Version = [number, number, number];

function parse(v: string): Version {
  const [major = 0, minor = 0, patch = 0] = v.replace(/^v/, "").split(".").map(Number);
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** npm's range grammar as the lockfile uses it for `engines.node`: `||` of comparator sets (>=, >, <, <=, ^, ~, exact, x). */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split("||").some((set) =>
    set
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, "$1")
      .trim()
      .split(/\s+/)
      .filter((c) => c && c !== "*" && c !== "x")
      .every((comparator) => {
        const m = /^(>=|<=|>|<|\^|~|=)?v?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(comparator);
        if (!m) throw new Error(`range not understood: ${range}`);
        const [, op = "=", major, minor = "0", patch = "0"] = m;
        const bound: Version = [Number(major), minor === "x" ? 0 : Number(minor), patch === "x" ? 0 : Number(patch)];
        const c = compare(v, bound);
        if (op === ">=") return c >= 0;
        if (op === ">") return c > 0;
        if (op === "<=") return c <= 0;
        if (op === "<") return c < 0;
        if (op === "^") return c >= 0 && v[0] === bound[0];
        if (op === "~") return c >= 0 && v[0] === bound[0] && v[1] === bound[1];
        return c === 0 || (m[3] === undefined && v[0] === bound[0]);
      }),
  );
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
/** The first release of each supported line: Node 22 from 22.12, Node 24. */
const SUPPORTED = ["22.12.0", "24.0.0"];

describe("supported Node versions", () => {
  it("are the ones package.json declares, and Node 20 (end of life) is not among them", () => {
    for (const v of SUPPORTED) expect(satisfies(v, pkg.engines.node), v).toBe(true);
    expect(satisfies("22.11.0", pkg.engines.node)).toBe(false);
    expect(satisfies("20.19.0", pkg.engines.node)).toBe(false);
  });

  it("are accepted by every package npm ci installs here (no EBADENGINE warning on them)", () => {
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)) {
      if (!where || !fs.existsSync(path.join(ROOT, where, "package.json"))) continue; // not installed on this platform
      const range = entry.engines?.node;
      if (!range) continue;
      for (const v of SUPPORTED) if (!satisfies(v, range)) refused.push(`${where} wants node ${range}, not ${v}`);
    }
    expect(refused).toEqual([]);
  });

  it("are the ones the README states", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain(`"node": "${pkg.engines.node}"`);
  });
});
