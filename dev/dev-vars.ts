// The dev secrets of the local stack and its tools: .dev.vars, created from .dev.vars.example
// (or defaults) on first run; wrangler dev reads the same file itself.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./util.ts";

/** Dev secrets: .dev.vars, created from .dev.vars.example on first run. */
export function readDevVars(root = ROOT): Record<string, string> {
  const file = path.join(root, ".dev.vars");
  if (!fs.existsSync(file)) {
    const example = path.join(root, ".dev.vars.example");
    if (fs.existsSync(example)) fs.copyFileSync(example, file);
    else
      fs.writeFileSync(
        file,
        "JWT_SECRET=dev-jwt-secret\nADMIN_TOKEN=dev-admin-token\nPAYMENT_WEBHOOK_SECRET=dev-webhook-secret\n",
      );
  }
  const vars: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}
