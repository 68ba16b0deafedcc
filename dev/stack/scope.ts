// What a local stack keeps to itself on a machine other stacks share (two terminals, two
// checkouts): the stack on the default port keeps the names it always had; a stack on another
// port P gets database edge_cart_dev_P, state in .dev-stack/port-P (Durable Objects, pid file,
// embedded Postgres) and a Redis database of its own (./redis-database.ts). So a second stack
// never lists the first one's SKUs, reads its carts' snapshots or syncs its carts.
import path from "node:path";
import { ROOT } from "../util.ts";

export const DEFAULT_PORT = 8787;
const DEV_DATABASE = "edge_cart_dev";
const DEV_STATE_DIR = ".dev-stack";

/** The Worker port a stack started without one uses: $PORT, else 8787. */
export function requestedPort(): number {
  return Number(process.env.PORT ?? DEFAULT_PORT);
}

export function devDatabaseName(port: number): string {
  return port === DEFAULT_PORT ? DEV_DATABASE : `${DEV_DATABASE}_${port}`;
}

/** Absolute path of the stack's state directory. */
export function devStateDir(port: number): string {
  return path.join(ROOT, DEV_STATE_DIR, ...(port === DEFAULT_PORT ? [] : [`port-${port}`]));
}
