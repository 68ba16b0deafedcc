import { Pool, neonConfig } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis/cloudflare";

interface Env {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  PROBE_VAR?: string;
}

function configureNeon(env: Env): void {
  neonConfig.wsProxy = (host, port) => `${env.NEON_WS_PROXY}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname !== "/probe") return new Response("probe worker", { status: 404 });
    configureNeon(env);
    const pool = new Pool({ connectionString: env.DATABASE_URL });
    try {
      const db = await pool.query("select current_database() as db, $1::int + 1 as n", [41]);
      const redis = env.UPSTASH_REDIS_REST_URL
        ? new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN! })
        : null;
      let cached: unknown = null;
      if (redis) {
        await redis.set("probe:key", { hello: "wörld ✓" });
        cached = await redis.get("probe:key");
      }
      return Response.json({
        db: db.rows[0],
        cached,
        cron: redis ? await redis.get("probe:cron") : null,
        vars: { PROBE_VAR: env.PROBE_VAR, hasUpstash: Boolean(env.UPSTASH_REDIS_REST_URL) },
      });
    } catch (err) {
      return Response.json({ error: String((err as Error).stack ?? err) }, { status: 500 });
    } finally {
      await pool.end();
    }
  },

  async scheduled(controller: { cron: string }, env: Env): Promise<void> {
    if (!env.UPSTASH_REDIS_REST_URL) return;
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN! });
    await redis.set("probe:cron", controller.cron);
  },
};
