// The cart drawer's promotion code: a labelled field that applies a code (POST
// /v1/cart/promotions), the code on the cart with its remove button (DELETE
// /v1/cart/promotions/{code}), and in words what the code gives now, why it gives nothing now
// (it stays on the cart, e.g. below its minimum) or why it was refused. The drawer redraws
// itself on every live push, so the text being typed, the last refusal and the status line
// (one persistent polite live region, announced only when its words change) outlive a redraw.
import type { Cart } from "./api";
import { ApiError, api, friendly } from "./api";
import { minus, promotionSentence } from "./discounts";
import { h } from "./dom";
import { showError } from "./notice";

let typed = "";
let refusal: { title: string; detail: string } | null = null;
/** The cart the text and refusal belong to: another identity's cart starts clean. */
let cartId = "";

const status = h("p", { id: "code-status", class: "code-status", role: "status", "data-testid": "code-status" });

/** Sets the status line; unchanged words are not written again, so a redraw announces nothing. */
function say(lead: string, text: string, tone: "ok" | "bad" | "quiet"): void {
  status.className = `code-status ${tone}`;
  if (status.textContent === `${lead}${text}`) return;
  status.replaceChildren(...(lead ? [h("strong", {}, lead)] : []), text);
}

/** What the status line says for `cart`: the last refusal, else how the cart's code stands. */
function describe(cart: Cart): void {
  say(...words(cart));
}

function words(cart: Cart): [lead: string, text: string, tone: "ok" | "bad" | "quiet"] {
  if (refusal) return [`${refusal.title}. `, refusal.detail, "bad"];
  const p = cart.promotion;
  if (!p) return ["", "", "quiet"];
  if (p.applied) {
    const amount = cart.totals.discounts.find((d) => d.code === p.code)?.amount ?? 0;
    return ["", `Code ${p.code} applied: ${minus(amount, cart.currency ?? "USD")}.`, "ok"];
  }
  const why = p.reason ? (promotionSentence(p.reason) ?? p.reason.detail) : "";
  return [`Code ${p.code} gives no discount now. `, why, "bad"];
}

/**
 * A checkout refused because of the cart's code (used up meanwhile, no longer applying) is said
 * beside the code too, where the shopper looks (the page's notice may be under the drawer).
 */
export function codeRefused(err: unknown, cart: Cart): void {
  if (!(err instanceof ApiError && err.code.startsWith("PROMOTION_"))) return;
  refusal = friendly(err);
  describe(cart);
}

const codeInput = () => document.getElementById("promo-code") as HTMLInputElement | null;

/** The code part of the drawer for `cart`; `show` draws the cart an apply or remove answers with. */
export function codeField(cart: Cart, show: (next: Cart) => void): HTMLElement {
  if (cart.cartId !== cartId) {
    cartId = cart.cartId;
    typed = "";
    refusal = null;
  }
  const input = h("input", {
    id: "promo-code",
    name: "code",
    type: "text",
    value: typed,
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: false,
    maxlength: 32,
    "aria-describedby": "code-status",
    "aria-invalid": refusal ? "true" : null,
    oninput: () => {
      typed = input.value;
      if (refusal) {
        refusal = null;
        input.removeAttribute("aria-invalid");
        describe(cart);
      }
    },
  });
  const apply = async (e: Event) => {
    e.preventDefault();
    const code = input.value.trim();
    if (!code) {
      refusal = { title: "No code", detail: "Type a promotion code first." };
    } else {
      try {
        const next = await api<Cart>("POST", "/v1/cart/promotions", { code });
        typed = "";
        refusal = null;
        show(next);
        codeInput()?.focus();
        return;
      } catch (err) {
        refusal =
          err instanceof ApiError && err.code === "VALIDATION_FAILED"
            ? { title: "Not a promotion code", detail: "A code is 3 to 32 letters, digits, - or _." }
            : friendly(err);
      }
    }
    describe(cart);
    const shown = codeInput() ?? input; // a live push may have redrawn the drawer meanwhile
    shown.setAttribute("aria-invalid", "true");
    shown.focus();
  };
  const remove = async (code: string) => {
    try {
      refusal = null;
      show(await api<Cart>("DELETE", `/v1/cart/promotions/${encodeURIComponent(code)}`));
      codeInput()?.focus();
    } catch (err) {
      showError(err);
    }
  };
  describe(cart);
  return h(
    "form",
    { class: "code", onsubmit: apply },
    h("label", { for: "promo-code" }, "Promotion code"),
    h("div", { class: "code-row" }, input, h("button", { type: "submit" }, "Apply")),
    status,
    cart.promotion &&
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "aria-label": `Remove code ${cart.promotion.code}`,
          onclick: () => remove(cart.promotion!.code),
        },
        "Remove code",
      ),
  );
}
