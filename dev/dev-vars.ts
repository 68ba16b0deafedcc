// The dev secrets of the local stack and its tools: .dev.vars, created from .dev.vars.example
// (or defaults) on first run; wrangler dev reads the same file itself.
import fs from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";
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
  // Node's dotenv reader: the format wrangler dev reads the same file in (quotes, comments, `export`).
  return parseEnv(fs.readFileSync(file, "utf8")) as Record<string, string>;
}
