/**
 * Commands between actors, as the outbox carries them: a discriminated union
 * whose `name` is the method the target actor runs, and one dispatch table
 * per sending actor, so the compiler checks that every command has a handler
 * and that every handler gets the arguments its command carries.
 */
import type { TakenLine } from "../domain/cart-contract";
import type { CarriedRelease, CarryGeneration, CarryReport } from "../domain/carry";
import type { SkuCatalog } from "../domain/catalog";
import type { Command } from "./outbox";

/** A reservation's stock effect for the SKU actor (stripe) that holds it; commands to one SKU run in order (commit before restock). */
interface StockArgs {
  reservationId: string;
  reason: string;
}

/** What the order actor sends: stock effects to SKU actors; to the owner's cart, the checked-out lines or the lines it held and gave up. */
export type OrderCommand =
  | { target: `sku:${string}`; name: "commit"; args: StockArgs }
  | { target: `sku:${string}`; name: "release"; args: StockArgs }
  | { target: `sku:${string}`; name: "restock"; args: StockArgs }
  | {
      target: `cart:${string}`;
      name: "applyCheckout";
      args: { orderId: string; lines: TakenLine[]; createdAt: string; code?: string | null };
    }
  | { target: `cart:${string}`; name: "releaseCheckout"; args: { orderId: string; attempt: string } };

/**
 * What the stripes of a SKU send each other: the main actor configures the others, units move
 * between stripes, and the units buyers hold away from their home are counted there
 * (domain/carry.ts). `generation` is absent from configurations written before it existed.
 */
export type StripeCommand =
  | { target: `sku:${string}`; name: "commit"; args: StockArgs }
  | { target: `sku:${string}`; name: "release"; args: StockArgs }
  | { target: `sku:${string}`; name: "restock"; args: StockArgs }
  | { target: `sku:${string}`; name: "configureStripe"; args: { catalog: SkuCatalog; generation?: CarryGeneration } }
  | { target: `sku:${string}`; name: "credit"; args: { transferId: string; units: number } }
  | { target: `sku:${string}`; name: "receiveCarried"; args: CarryReport }
  | { target: `sku:${string}`; name: "releaseCarried"; args: CarriedRelease };

/** One handler per command name; each gets the target's name (without its `sku:`/`cart:` prefix) and its command's arguments. */
export type CommandTable<C extends Command> = {
  [N in C["name"]]: (targetName: string, args: Extract<C, { name: N }>["args"]) => Promise<void>;
};

/** Names stored by earlier versions, still delivered from outboxes written before the rename. */
const FORMER_NAMES: Record<string, string> = { checkedOut: "applyCheckout" };

/** Runs a command read back from the outbox through the sending actor's table. */
export function dispatch<C extends Command>(table: CommandTable<C>, command: Command): Promise<void> {
  const name = (FORMER_NAMES[command.name] ?? command.name) as C["name"];
  const handler = table[name] as ((targetName: string, args: unknown) => Promise<void>) | undefined;
  if (!handler) return Promise.reject(new Error(`no handler for command ${command.name} to ${command.target}`));
  return handler(command.target.slice(command.target.indexOf(":") + 1), command.args);
}
