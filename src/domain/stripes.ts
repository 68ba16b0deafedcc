/**
 * Stock stripes: a hot SKU's stock split across several SKU actors so that
 * reservations spread over them instead of queueing on one (docs/decisions.md #2, docs/invariants.md 1-2).
 *
 * Stripe 0 is the SKU's own actor (named like the SKU); it also holds the
 * catalog and answers for the SKU as a whole. Stripe i > 0 is the actor
 * `{skuId}~{i}` ("~" can never appear in a SKU id). Every buyer has a home
 * stripe, a hash of their id: all their reservations of that SKU live there,
 * which keeps the per-buyer purchase limit exact. A stripe that runs dry pulls
 * units from its siblings before it answers SOLD_OUT.
 */
export const STRIPE_SEPARATOR = "~";

export interface StripeAddress {
  skuId: string;
  index: number;
}

export function stripeName(skuId: string, index: number): string {
  return index === 0 ? skuId : `${skuId}${STRIPE_SEPARATOR}${index}`;
}

export function parseStripeName(name: string): StripeAddress {
  const at = name.lastIndexOf(STRIPE_SEPARATOR);
  if (at < 0) return { skuId: name, index: 0 };
  return { skuId: name.slice(0, at), index: Number(name.slice(at + 1)) };
}

/** FNV-1a, 32 bits: cheap, stable across isolates and deploys. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The stripe that holds every reservation of this buyer for a SKU split `count` ways. */
export function homeStripe(ownerId: string, count: number): number {
  return count <= 1 ? 0 : fnv1a(ownerId) % count;
}

/** How many units a stripe hands to a sibling that asks for `want`: at least what it needs, else half of what it has. */
export function unitsToGive(available: number, want: number, all = false): number {
  if (available <= 0) return 0;
  if (all) return available;
  return Math.min(available, Math.max(want, Math.ceil(available / 2)));
}

/** Splits `units` over `count` stripes: stripe 0 keeps the remainder. */
export function shares(units: number, count: number): number[] {
  const each = Math.floor(units / count);
  return Array.from({ length: count }, (_, i) => (i === 0 ? units - each * (count - 1) : each));
}
