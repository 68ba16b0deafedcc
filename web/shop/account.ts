// The account box in the header: who is shopping (a guest, or a signed-in user), the demo
// sign-in of a development stack (GET /v1/dev lists its demo users) with the choice of how the
// guest cart merges into the user's, and sign-out, which starts a fresh guest cart.
import type { MergeResult } from "./api";
import { api, ApiError, identity } from "./api";
import { reloadCart, setCart } from "./cart";
import { h, mount } from "./dom";
import { connectLive } from "./live";
import { showError, showOk } from "./notice";
import { redraw } from "./page";

let devInfo: { demoUsers: string[] } | null = null;

/** Asks the service whether it is a development stack, then draws the account box. */
export async function initAccount(): Promise<void> {
  devInfo = await api<{ demoUsers: string[] }>("GET", "/v1/dev").catch(() => null);
  renderAccount();
}

function renderAccount(): void {
  const box = document.getElementById("account")!;
  const user = identity.user();
  if (user) {
    mount(
      box,
      h("span", { "data-testid": "signed-in" }, `Signed in as ${user.userId}`),
      h("button", { type: "button", onclick: signOut }, "Sign out"),
    );
    return;
  }
  if (!devInfo) {
    mount(box, h("span", { class: "muted" }, "Guest"));
    return;
  }
  mount(
    box,
    h(
      "form",
      {
        class: "account",
        "aria-label": "Sign in",
        onsubmit: (e: Event) => {
          e.preventDefault();
          void signIn();
        },
      },
      h(
        "label",
        {},
        "Demo user",
        h(
          "select",
          { id: "signin-user" },
          devInfo.demoUsers.map((u) => h("option", { value: u }, u)),
        ),
      ),
      h(
        "label",
        {},
        "Guest cart on sign-in",
        h(
          "select",
          { id: "signin-strategy" },
          h("option", { value: "sum" }, "add quantities (sum)"),
          h("option", { value: "max" }, "keep the larger (max)"),
          h("option", { value: "overwrite" }, "use the guest cart (overwrite)"),
          h("option", { value: "keep" }, "keep my saved cart (keep)"),
        ),
      ),
      h("button", { type: "submit", class: "primary" }, "Sign in"),
    ),
  );
}

async function signIn(): Promise<void> {
  const userId = (document.getElementById("signin-user") as HTMLSelectElement).value;
  const strategy = (document.getElementById("signin-strategy") as HTMLSelectElement).value;
  try {
    const guestCartId = identity.guestCartId();
    const { token } = await api<{ token: string }>("POST", "/v1/dev/token", { userId });
    identity.signIn(userId, token);
    void connectLive(); // closes the guest cart's socket at once; the user's opens when its ticket comes
    const merged = await api<MergeResult>("POST", "/v1/cart/merge", { clientCartId: guestCartId, strategy });
    identity.newGuestCart(); // the guest cart is emptied by the merge; signing out starts a fresh one
    setCart(merged);
    showOk(
      `Signed in as ${userId}; guest cart merged (${strategy})${merged.merge?.clamped?.length ? `, ${merged.merge.clamped.length} line(s) clamped to stock or limit` : ""}.`,
    );
  } catch (err) {
    if (err instanceof ApiError && err.problem.status === 401) identity.signOut();
    showError(err);
  }
  renderAccount();
  await reloadCart();
  void redraw();
}

async function signOut(): Promise<void> {
  identity.signOut();
  identity.newGuestCart();
  void connectLive();
  renderAccount();
  showOk("Signed out: you have a new guest cart.");
  await reloadCart();
  void redraw();
}
