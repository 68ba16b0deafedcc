// `npm run token -- <userId> [hours]`: prints a user JWT (HS256, signed with the local
// JWT_SECRET from .dev.vars) for trying the API with curl.
import { sign } from "hono/jwt";
import { readDevVars } from "./dev-vars.ts";
import { isMain } from "./util.ts";

/** A user JWT as the Worker accepts it: `sub` is the user id, `exp` required. */
export async function userToken(
  userId: string,
  hours = 24,
  secret = process.env.JWT_SECRET ?? readDevVars().JWT_SECRET ?? "dev-jwt-secret",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + Math.round(hours * 3600) }, secret, "HS256");
}

if (isMain(import.meta.url)) {
  console.log(await userToken(process.argv[2] ?? "alice", Number(process.argv[3] ?? 24)));
}
