// Finds a Chromium (or Chrome) where a user would have one, for the browser tests: playwright-core
// drives it but never downloads one itself. CHROMIUM_PATH, when set, is the only place looked at
// (so `CHROMIUM_PATH=/nowhere` also hides every other browser: how the "no browser" path is tried).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { findBinary } from "./redis-server.ts";
import { ROOT } from "./util.ts";

/** The one line the browser tests stop with when there is no browser. */
export const NO_CHROMIUM_HINT =
  "install Debian's chromium (apt-get install chromium), set CHROMIUM_PATH, or run npx playwright-core install chromium";

export type ChromiumSearch = { found: true; path: string; from: string } | { found: false; message: string };

export interface ChromiumSearchOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  /** Absolute paths of the system's browsers (default: Debian's and the macOS app bundles). */
  systemPaths?: string[];
}

const PATH_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

const SYSTEM_PATHS: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"],
  darwin: [
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
  ],
};

/** Where an executable sits inside a Playwright `chromium-<revision>` directory, old layouts and new. */
const PLAYWRIGHT_LAYOUTS: Partial<Record<NodeJS.Platform, string[][]>> = {
  linux: [
    ["chrome-linux64", "chrome"],
    ["chrome-linux-arm64", "chrome"],
    ["chrome-linux", "chrome"],
  ],
  darwin: [
    ["chrome-mac-arm64", "Google Chrome for Testing.app", "Contents", "MacOS", "Google Chrome for Testing"],
    ["chrome-mac-x64", "Google Chrome for Testing.app", "Contents", "MacOS", "Google Chrome for Testing"],
    ["chrome-mac", "Chromium.app", "Contents", "MacOS", "Chromium"],
  ],
};

export function findChromium(opts: ChromiumSearchOptions = {}): ChromiumSearch {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.home ?? os.homedir();
  const explicit = env.CHROMIUM_PATH;
  if (explicit) {
    return isExecutable(explicit)
      ? { found: true, path: explicit, from: "CHROMIUM_PATH" }
      : {
          found: false,
          message: `no Chromium at CHROMIUM_PATH=${explicit} (not an executable file): unset it to look in the usual places, or ${NO_CHROMIUM_HINT}`,
        };
  }
  for (const name of PATH_NAMES) {
    const onPath = findBinary(name, env.PATH);
    if (onPath) return { found: true, path: onPath, from: "PATH" };
  }
  const installed = (opts.systemPaths ?? SYSTEM_PATHS[platform] ?? []).find(isExecutable);
  if (installed) return { found: true, path: installed, from: "system" };
  const downloaded = playwrightCandidates(env, platform, home).find(isExecutable);
  if (downloaded) return { found: true, path: downloaded, from: "Playwright's browsers" };
  return { found: false, message: `no Chromium found: ${NO_CHROMIUM_HINT}` };
}

/** Playwright's browser directories, newest revision first (PLAYWRIGHT_BROWSERS_PATH=0: inside playwright-core). */
function playwrightCandidates(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string[] {
  const roots: string[] = [];
  const custom = env.PLAYWRIGHT_BROWSERS_PATH;
  if (custom === "0") roots.push(path.join(ROOT, "node_modules", "playwright-core", ".local-browsers"));
  else if (custom) roots.push(path.resolve(custom));
  if (platform === "linux") roots.push(path.join(env.XDG_CACHE_HOME || path.join(home, ".cache"), "ms-playwright"));
  if (platform === "darwin") roots.push(path.join(home, "Library", "Caches", "ms-playwright"));
  const layouts = PLAYWRIGHT_LAYOUTS[platform] ?? [];
  return roots.flatMap((root) =>
    revisions(root).flatMap((dir) => layouts.map((layout) => path.join(root, dir, ...layout))),
  );
}

function revisions(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const revision = (name: string) => Number(/^chromium-(\d+)$/.exec(name)?.[1] ?? -1);
  return names.filter((n) => revision(n) >= 0).sort((a, b) => revision(b) - revision(a));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
