/**
 * Pages that are gone. Every asynchronous continuation of a page checks this before it changes the page or navigates:
 * a checkout re-launched with a new token during a 60 s confirmation must not be replaced, later, by the previous
 * order's result page.
 */
const gone = new WeakSet<object>();

export function markGone(page: object): void {
  gone.add(page);
}

export function isGone(page: object): boolean {
  return gone.has(page);
}
