// Fallback Postgres for machines without a server: PGlite (Postgres compiled to WASM)
// served over the wire protocol by @electric-sql/pglite-socket. It multiplexes several
// client connections onto the single PGlite backend (queries are queued; an open
// transaction keeps the backend to its connection until it ends). Clients reach it through
// a small front (dev/hang-up-on-terminate.ts) that hangs up after a Terminate message, as
// Postgres does and pglite-socket does not.
import fs from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { type HangUpFront, startHangUpFront } from "./hang-up-on-terminate.ts";
import { isMain } from "./util.ts";

export interface EmbeddedPostgresOptions {
  /** 0 / undefined = random free port. */
  port?: number;
  /** Directory for the data files; in-memory when omitted. */
  dataDir?: string;
  /** Concurrent client connections (default 20: pg Pool's 10 plus the Worker's pool). */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  if (opts.dataDir) fs.mkdirSync(opts.dataDir, { recursive: true });
  const db = await PGlite.create(opts.dataDir ? { dataDir: opts.dataDir } : {});
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: opts.maxConnections ?? 20,
  });
  let front: HangUpFront;
  try {
    await server.start();
    // getServerConn() is "host:port" with the port the OS picked.
    const [host, port] = server.getServerConn().split(":");
    front = await startHangUpFront({ host: host!, port: Number(port) }, { port: opts.port ?? 0 });
  } catch (err) {
    await server.stop();
    await db.close();
    throw err;
  }
  const url = `postgres://postgres@${front.host}:${front.port}/postgres`;
  let closed = false;
  return {
    url,
    async close() {
      if (closed) return;
      closed = true;
      await front.close();
      await server.stop();
      await db.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const pg = await startEmbeddedPostgres({
    port: Number(process.env.PGLITE_PORT ?? 5433),
    dataDir: process.env.PGLITE_DATA_DIR,
  });
  console.log(`Embedded Postgres (PGlite) at ${pg.url}`);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => void pg.close().then(() => process.exit(0)));
  }
}
