// Reads the body and answers JSON: what any request costs on this runtime before the
// application does anything (no auth, no actor, no storage, no queue).
export default {
  async fetch(request) {
    const body = await request.text();
    const status = request.method === "POST" ? 201 : 200;
    return Response.json(
      { orderId: `fl_${crypto.randomUUID().replaceAll("-", "")}`, status: "PENDING", bytes: body.length },
      { status },
    );
  },
};
