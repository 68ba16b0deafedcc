// Finding a browser for the browser tests (dev/chromium.ts) the way a user has one, on a
// directory tree of real executable files: CHROMIUM_PATH, PATH, the system's paths,
// Playwright's downloads; and the one line said when there is none.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findChromium, NO_CHROMIUM_HINT } from "../../dev/chromium.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "find-chromium-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** An executable file at root/<rel> (or a plain one with mode 0o644). */
function file(rel: string, mode = 0o755): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, "#!/bin/sh\n");
  fs.chmodSync(p, mode);
  return p;
}

/** A machine with nothing but what the test gives it. */
const bare = (home: string, env: NodeJS.ProcessEnv = {}) => ({
  env: { PATH: path.join(root, "empty-bin"), ...env },
  platform: "linux" as const,
  home: path.join(root, home),
  systemPaths: [path.join(root, home, "usr/bin/chromium")],
});

describe("findChromium", () => {
  it("without any browser: one line saying how to get one", () => {
    expect(findChromium(bare("none"))).toEqual({ found: false, message: `no Chromium found: ${NO_CHROMIUM_HINT}` });
    expect(NO_CHROMIUM_HINT).toMatch(/apt-get install chromium.*CHROMIUM_PATH.*playwright-core install chromium/);
  });

  it("CHROMIUM_PATH is the only place looked at when set, also when it points at nothing", () => {
    const other = file("explicit/usr/bin/chromium");
    const mine = file("explicit/my-chrome");
    expect(findChromium(bare("explicit", { CHROMIUM_PATH: mine }))).toEqual({
      found: true,
      path: mine,
      from: "CHROMIUM_PATH",
    });
    const missing = findChromium(bare("explicit", { CHROMIUM_PATH: path.join(root, "nowhere") }));
    expect(missing.found).toBe(false);
    expect(!missing.found && missing.message).toBe(
      `no Chromium at CHROMIUM_PATH=${path.join(root, "nowhere")} (not an executable file): unset it to look in the usual places, or ${NO_CHROMIUM_HINT}`,
    );
    // Unset, the usual places count again.
    expect(findChromium(bare("explicit"))).toMatchObject({ found: true, path: other });
  });

  it("takes chromium, chromium-browser or google-chrome(-stable) from PATH, then the system's paths", () => {
    const stable = file("path/bin/google-chrome-stable");
    file("path/bin/not-a-browser");
    const search = bare("path", { PATH: [path.join(root, "empty-bin"), path.join(root, "path/bin")].join(":") });
    expect(findChromium(search)).toEqual({ found: true, path: stable, from: "PATH" });
    const browser = file("path/bin2/chromium-browser");
    search.env.PATH = `${path.join(root, "path/bin2")}:${search.env.PATH}`;
    expect(findChromium(search)).toMatchObject({ path: browser });
    // A file that is not executable is not a browser.
    file("system/usr/bin/chromium", 0o644);
    expect(findChromium(bare("system")).found).toBe(false);
    fs.chmodSync(path.join(root, "system/usr/bin/chromium"), 0o755);
    expect(findChromium(bare("system"))).toMatchObject({ found: true, from: "system" });
  });

  it("finds Playwright's own downloads, newest revision first, old and new layouts, PLAYWRIGHT_BROWSERS_PATH", () => {
    file("pw/.cache/ms-playwright/chromium-1100/chrome-linux/chrome");
    const newest = file("pw/.cache/ms-playwright/chromium-1200/chrome-linux64/chrome");
    file("pw/.cache/ms-playwright/chromium_headless_shell-1300/chrome-linux/headless_shell");
    expect(findChromium(bare("pw"))).toEqual({ found: true, path: newest, from: "Playwright's browsers" });
    const custom = file("pw-custom/browsers/chromium-1000/chrome-linux/chrome");
    expect(findChromium(bare("pw", { PLAYWRIGHT_BROWSERS_PATH: path.join(root, "pw-custom/browsers") }))).toMatchObject(
      { path: custom },
    );
    const xdg = file("xdg/ms-playwright/chromium-1/chrome-linux64/chrome");
    expect(findChromium(bare("none", { XDG_CACHE_HOME: path.join(root, "xdg") }))).toMatchObject({ path: xdg });
  });

  it("on macOS: the app bundles and Playwright's cache under ~/Library/Caches", () => {
    const app = file("mac/Applications/Google Chrome.app/Contents/MacOS/Google Chrome");
    const mac = (env: NodeJS.ProcessEnv = {}) => ({ ...bare("mac", env), platform: "darwin" as const });
    expect(findChromium({ ...mac(), systemPaths: [app] })).toMatchObject({ path: app, from: "system" });
    const testing = file(
      "mac/Library/Caches/ms-playwright/chromium-1200/chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    );
    expect(findChromium({ ...mac(), systemPaths: [] })).toMatchObject({ path: testing });
  });
});
