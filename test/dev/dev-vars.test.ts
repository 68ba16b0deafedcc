// .dev.vars is read as wrangler dev reads it (dotenv), so the tools and the Worker agree on a secret.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readDevVars } from "../../dev/dev-vars.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function root(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cart-dev-vars-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe("readDevVars", () => {
  it("reads quotes, comments and `export` as dotenv does", () => {
    const dir = root({
      ".dev.vars": `# the local secrets\nADMIN_TOKEN=abc # a comment is not part of it\nexport JWT_SECRET="two words"\r\nEMPTY=\nQUOTED='x=y'\n`,
    });
    expect(readDevVars(dir)).toEqual({ ADMIN_TOKEN: "abc", JWT_SECRET: "two words", EMPTY: "", QUOTED: "x=y" });
  });

  it("creates .dev.vars from .dev.vars.example on first use", () => {
    const dir = root({ ".dev.vars.example": "ADMIN_TOKEN=from-example\n" });
    expect(readDevVars(dir)).toEqual({ ADMIN_TOKEN: "from-example" });
    expect(fs.readFileSync(path.join(dir, ".dev.vars"), "utf8")).toBe("ADMIN_TOKEN=from-example\n");
  });
});
