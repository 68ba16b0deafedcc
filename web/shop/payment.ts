// Paying for an order on its page: Stripe's Payment Element when the service has a publishable
// key (GET /v1/payments/config), else the development test provider. Stripe.js is loaded from
// the configured URL (js.stripe.com in production, a local stand-in in development and tests)
// only when an order is to be paid.
import type { PaymentConfig, PaymentIntent } from "./api";
import { api, ApiError } from "./api";
import { h } from "./dom";
import { showError, showOk } from "./notice";

/** The part of Stripe.js this page uses (docs.stripe.com/js). */
interface StripeElements {
  create(type: "payment"): { mount(target: HTMLElement): void };
}
interface StripeJs {
  elements(options: { clientSecret: string }): StripeElements;
  confirmPayment(options: {
    elements: StripeElements;
    confirmParams: { return_url: string };
    redirect: "if_required";
  }): Promise<{ error?: { message?: string }; paymentIntent?: { status: string } }>;
}
declare global {
  interface Window {
    Stripe?: (publishableKey: string) => StripeJs;
  }
}

let config: Promise<PaymentConfig> | null = null;
const scripts = new Map<string, Promise<void>>();

export function paymentConfig(): Promise<PaymentConfig> {
  config ??= api<PaymentConfig>("GET", "/v1/payments/config").catch(() => ({ provider: "none" as const }));
  return config;
}

function loadScript(url: string): Promise<void> {
  let loading = scripts.get(url);
  if (!loading) {
    loading = new Promise<void>((resolve, reject) => {
      const script = h("script", { src: url });
      script.onload = () => resolve();
      script.onerror = () => reject(new Error(`Stripe.js could not be loaded from ${url}`));
      document.head.append(script);
    });
    scripts.set(url, loading);
  }
  return loading;
}

/**
 * The payment part of a PENDING order's page: Stripe's Payment Element and a Pay button, or
 * the test provider's button, or nothing. `paid` runs after a payment was sent.
 */
export async function paymentBox(orderId: string, paid: () => Promise<void>): Promise<HTMLElement | null> {
  const settings = await paymentConfig();
  if (settings.provider === "test") {
    return h(
      "button",
      {
        type: "button",
        class: "primary",
        onclick: async () => {
          try {
            await api("POST", `/v1/dev/orders/${encodeURIComponent(orderId)}/pay`);
            showOk("Payment sent by the test provider.");
          } catch (err) {
            showError(err);
          }
          await paid();
        },
      },
      "Pay with the test provider",
    );
  }
  if (settings.provider !== "stripe") return null;
  const box = h("section", { class: "payment", "aria-label": "Payment" });
  const element = h("div", { class: "payment-element", "data-testid": "payment-element" });
  try {
    const [{ clientSecret }] = await Promise.all([
      api<PaymentIntent>("POST", `/v1/orders/${encodeURIComponent(orderId)}/payment-intent`),
      loadScript(settings.scriptUrl),
    ]);
    if (!window.Stripe) throw new Error("Stripe.js did not load");
    const stripe = window.Stripe(settings.publishableKey);
    const elements = stripe.elements({ clientSecret });
    elements.create("payment").mount(element);
    const pay = h(
      "button",
      {
        type: "button",
        class: "primary",
        onclick: async () => {
          pay.disabled = true;
          const result = await stripe.confirmPayment({
            elements,
            confirmParams: { return_url: location.href },
            redirect: "if_required",
          });
          if (result.error) {
            showError(new Error(result.error.message ?? "the payment was not confirmed"));
            pay.disabled = false;
            return;
          }
          showOk("Payment confirmed by Stripe; the order turns PAID as soon as Stripe tells the shop.");
          await paid();
        },
      },
      "Pay",
    );
    box.append(element, pay);
  } catch (err) {
    box.append(
      h("p", { class: "muted" }, err instanceof ApiError ? (err.problem.detail ?? err.problem.title) : String(err)),
    );
  }
  return box;
}
