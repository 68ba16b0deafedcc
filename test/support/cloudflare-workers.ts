// What Node-project tests see of workerd's `cloudflare:workers` module (vitest.config.ts aliases it here):
// pure modules reach it only through the logger, which reads LOG_LEVEL from `env`.
export const env = {};
export class DurableObject {}
