// The page on screen: the element pages are drawn into, the timers and sockets that belong to
// the page (stopped when the shopper navigates), and a way for any module to draw it again
// (the router in main.ts registers itself here, so pages need not import it).

export const main = () => document.getElementById("main")!;

/** Timers of the page on screen (countdowns, stock refresh), stopped on navigation. */
let timers: number[] = [];
/** Sockets of the page on screen, closed on navigation. */
const cleanups: (() => void)[] = [];
let router: () => Promise<void> = async () => {};

/** Runs `fn` now and every `ms` while the page stays on screen. */
export function every(ms: number, fn: () => void): void {
  fn();
  timers.push(window.setInterval(fn, ms));
}

/** Runs `fn` when the page is left (closes its sockets). */
export function onLeave(fn: () => void): void {
  cleanups.push(fn);
}

/** Stops the timers and closes the sockets of the page being left. */
export function leavePage(): void {
  timers.forEach((t) => clearInterval(t));
  timers = [];
  cleanups.splice(0).forEach((f) => f());
}

export function setRouter(route: () => Promise<void>): void {
  router = route;
}

/** Draws the page of the current address again (after sign-in, an order action, an expiry). */
export function redraw(): Promise<void> {
  return router();
}
