// `npm run token -- <userId> [hours]`: prints a user JWT (HS256, signed with the local
// JWT_SECRET from .dev.vars) for trying the API with curl.
import { sign } from "hono/jwt";
import { readDevVars } from "./stack.ts";

const userId = process.argv[2] ?? "alice";
const hours = Number(process.argv[3] ?? 24);
const secret = readDevVars().JWT_SECRET ?? "dev-jwt-secret";
const now = Math.floor(Date.now() / 1000);
console.log(await sign({ sub: userId, iat: now, exp: now + Math.round(hours * 3600) }, secret, "HS256"));
