import type { OrderStatus } from '@cashier/shared';
import { canTransitionOrder, withFlag } from '../domain/order-state';
import type { Order, OrderEventSource } from '../domain/types';
import type { OrderPatch } from '../store/port';
import type { Deps } from './deps';
import { enqueueOrderWebhook } from './webhooks';

/** How many times a caller re-reads and retries after losing a compare-and-set to another writer. */
export const MAX_CAS_ATTEMPTS = 8;

/**
 * Changes an order by compare-and-set from the order as the caller read it, recording the audit event in the same
 * write and, for states the app backend cares about, an outbox row. Resolves the updated order, or null when another
 * writer moved it first (the caller reads again and decides again).
 */
export async function moveOrder(
  deps: Deps,
  order: Order,
  to: OrderStatus,
  patch: Omit<OrderPatch, 'status' | 'updatedAt'>,
  source: OrderEventSource,
  detail: string,
): Promise<Order | null> {
  if (order.status !== to && !canTransitionOrder(order.status, to)) {
    throw new Error(`moveOrder: ${order.status} → ${to} is not a transition`);
  }
  const at = deps.clock.now();
  const updated = await deps.store.updateOrder(order, { ...patch, status: to, updatedAt: at }, { from: order.status, to, source, at, detail });
  if (!updated) return null;
  deps.log.info('order moved', { orderNo: order.orderNo, from: order.status, to, source, hfSeqId: updated.hfSeqId });
  if (order.status !== to || to === 'PARTIALLY_REFUNDED') await enqueueOrderWebhook(deps, updated);
  return updated;
}

/** Records something that changed no state (late, contradicting or suspicious events), for the audit trail. */
export async function noteOrder(deps: Deps, order: Order, source: OrderEventSource, detail: string): Promise<void> {
  await deps.store.appendOrderEvent({ orderNo: order.orderNo, from: order.status, to: order.status, source, at: deps.clock.now(), detail });
}

/** Reads the order again after a lost compare-and-set; the caller decides again from what is stored now. */
export async function reread(deps: Deps, order: Order): Promise<Order> {
  const current = await deps.store.getOrder(order.orderNo);
  if (!current) throw new Error(`order ${order.orderNo} disappeared`);
  return current;
}

/**
 * Adds a review flag without changing the status (flags are a set: another flag never replaces it). Resolves the
 * order as stored afterwards.
 */
export async function flagOrder(deps: Deps, order: Order, flag: string, source: OrderEventSource, detail: string): Promise<Order> {
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (current.flags.includes(flag)) return current;
    const at = deps.clock.now();
    const updated = await deps.store.updateOrder(current, { flags: withFlag(current.flags, flag), updatedAt: at }, { from: current.status, to: current.status, source, at, detail: `flagged ${flag}: ${detail}` });
    if (updated) {
      deps.log.warn('order flagged', { orderNo: current.orderNo, flag, source });
      return updated;
    }
    current = await reread(deps, current);
  }
  throw new Error(`flagOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}
