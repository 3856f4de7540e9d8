import type { OrderStatus } from '@cashier/shared';
import { canTransitionOrder } from '../domain/order-state';
import type { Order, OrderEventSource } from '../domain/types';
import type { OrderPatch } from '../store/port';
import type { Deps } from './deps';
import { enqueueOrderWebhook } from './webhooks';

/** How many times a caller re-reads and retries after losing a compare-and-set to another writer. */
export const MAX_CAS_ATTEMPTS = 8;

/**
 * Moves an order by compare-and-set and records what happened: the audit event and, for states the app backend
 * cares about, an outbox row. Resolves the updated order, or null when another writer moved it first (the caller
 * re-reads and decides again).
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
  const won = await deps.store.updateOrder(order.orderNo, { status: order.status, version: order.version }, { ...patch, status: to, updatedAt: at });
  if (!won) return null;
  const updated: Order = { ...order, ...patch, status: to, version: order.version + 1, updatedAt: at };
  await deps.store.appendOrderEvent({ orderNo: order.orderNo, from: order.status, to, source, at, detail });
  deps.log.info('order moved', { orderNo: order.orderNo, from: order.status, to, source, hfSeqId: updated.hfSeqId });
  if (order.status !== to || to === 'PARTIALLY_REFUNDED') await enqueueOrderWebhook(deps, updated);
  return updated;
}

/** Records something that changed no state (late, duplicate or suspicious events), for the audit trail. */
export async function noteOrder(deps: Deps, order: Order, source: OrderEventSource, detail: string): Promise<void> {
  await deps.store.appendOrderEvent({ orderNo: order.orderNo, from: order.status, to: order.status, source, at: deps.clock.now(), detail });
}

/** Sets a review flag on an order without changing its status (CAS; retried on contention). */
export async function flagOrder(deps: Deps, orderNo: string, flag: string, source: OrderEventSource, detail: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const order = await deps.store.getOrder(orderNo);
    if (!order) return;
    if (order.flag === flag) return;
    const won = await deps.store.updateOrder(orderNo, { status: order.status, version: order.version }, { flag, updatedAt: deps.clock.now() });
    if (won) {
      await noteOrder(deps, order, source, `flagged ${flag}: ${detail}`);
      deps.log.warn('order flagged', { orderNo, flag, source });
      return;
    }
  }
}
