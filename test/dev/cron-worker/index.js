// Answers with the last scheduled event it ran and a var, so the test sees both arrive.
let last = null;
export default {
  async fetch(_request, env) {
    return Response.json({ last, FROM_CONFIG: env.FROM_CONFIG ?? null, EXTRA: env.EXTRA ?? null });
  },
  async scheduled(controller) {
    if (controller.cron === "fail") throw new Error("asked to fail");
    last = { cron: controller.cron, scheduledTime: controller.scheduledTime };
  },
};
