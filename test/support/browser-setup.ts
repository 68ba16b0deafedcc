// globalSetup of the browser project: finds the browser once (dev/chromium.ts) and gives the
// test files its path, or the one line that says how to get one; without a browser the files
// skip their tests and the run says that line once, with no stack trace.
import type { TestProject } from "vitest/node";
import { findChromium } from "../../dev/chromium.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Chromium the browser tests drive, or null when none was found. */
    chromiumPath: string | null;
  }
}

export default function setup(project: TestProject): void {
  const chromium = findChromium();
  project.provide("chromiumPath", chromium.found ? chromium.path : null);
  if (!chromium.found) console.warn(`[browser tests] skipped: ${chromium.message}`);
}
