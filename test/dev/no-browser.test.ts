// The browser tests on a machine without a browser: the browser project (vitest, as `npm test`
// runs it) skips every browser test, says how to get a browser in one line, prints no stack
// trace, starts no stack and exits 0. CHROMIUM_PATH=<nothing> hides the machine's browser.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { NO_CHROMIUM_HINT } from "../../dev/chromium.ts";
import { ROOT } from "../../dev/util.ts";

describe("browser tests without a browser", () => {
  it("skip with one line and exit 0", () => {
    const nowhere = path.join(ROOT, ".no-such-chromium");
    const run = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--project", "browser"],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, CHROMIUM_PATH: nowhere, NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" },
        timeout: 60_000,
      },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).toBe(0);
    const said = output.split("\n").filter((l) => l.includes(NO_CHROMIUM_HINT));
    expect(said, output).toEqual([
      `[browser tests] skipped: no Chromium at CHROMIUM_PATH=${nowhere} (not an executable file): unset it to look in the usual places, or ${NO_CHROMIUM_HINT}`,
    ]);
    expect(output, "no stack trace").not.toMatch(/^\s+at /m);
    expect(output).not.toMatch(/FAIL|Error/);
    // Every browser test file is skipped, none run.
    expect(output).toMatch(/Test Files\s+(\d+) skipped \(\1\)/);
  });
});
