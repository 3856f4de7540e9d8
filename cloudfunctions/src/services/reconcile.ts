import type { PayError } from '../domain/errors';
import { QUERY_INTERVAL_MS } from '../domain/order-state';
import type { Order } from '../domain/types';
import type { Deps } from './deps';
import { closeOrder, followClose } from './close';
import { followRefund, ORPHAN_RESERVATION_MS, releaseOrphanReservations } from './refunds';
import { queryAndSettle } from './settle';
import { deliverDueWebhooks } from './webhooks';

export interface ReconcileReport {
  queried: number;
  settled: number;
  closed: number;
  closing: number;
  deferred: number;
  refundsFollowed: number;
  reservationsReleased: number;
  webhooksDelivered: number;
  webhooksFailed: number;
  errors: number;
}

/**
 * The timer job (every minute on CloudBase). It reads only what is due (each order stores when reconcile should next
 * look at it: domain/order-state.ts reconcileDueAt), so a run's work grows with the batch, not the table. Safe to run
 * twice at once: every change is a compare-and-set and every Huifu call is claimed first. Per due order:
 * follow a close in progress with close query; close an expired or cancelled order at Huifu, then locally; otherwise
 * query it (notifications get lost: Huifu retries only 3 times). Then follow pending refunds, give back orphaned
 * refund reservations, and deliver due app webhooks.
 */
export async function runReconcile(deps: Deps, options: { batch?: number } = {}): Promise<ReconcileReport> {
  const batch = options.batch ?? 20;
  const report: ReconcileReport = { queried: 0, settled: 0, closed: 0, closing: 0, deferred: 0, refundsFollowed: 0, reservationsReleased: 0, webhooksDelivered: 0, webhooksFailed: 0, errors: 0 };
  const now = deps.clock.now();
  const failed = (what: string, orderNo: string, error: unknown) => {
    report.errors++;
    deps.log.warn(`reconcile: ${what} failed`, { orderNo, code: (error as PayError).code ?? 'UNKNOWN', error: (error as Error).message?.slice(0, 200) });
  };
  const count = (outcome: string, before: Order, after: Order) => {
    if (outcome === 'closed') report.closed++;
    else if (outcome === 'closing') report.closing++;
    else if (outcome === 'deferred') report.deferred++;
    else if (outcome === 'paid' || after.status !== before.status) report.settled++;
  };

  for (const order of await deps.store.findDueOrders(now, batch)) {
    try {
      if (order.closeRequest?.state === 'PROCESSING') {
        const { outcome, order: after } = await followClose(deps, order, 'reconcile', order.cancelRequestedAt !== null ? 'cancelled by the user' : 'payment window expired');
        count(outcome, order, after);
      } else if (order.cancelRequestedAt !== null || order.expiresAt <= now) {
        const { outcome, order: after } = await closeOrder(deps, order, 'reconcile', order.cancelRequestedAt !== null ? 'cancelled by the user' : 'payment window expired');
        count(outcome, order, after);
      } else {
        report.queried++;
        const after = await queryAndSettle(deps, order, 'reconcile', QUERY_INTERVAL_MS);
        if (after.status !== order.status) report.settled++;
      }
    } catch (error) {
      failed('order', order.orderNo, error);
    }
  }

  const refunds = await deps.store.findRefunds({ statuses: ['PENDING'], updatedBefore: now - 30_000, limit: batch });
  for (const refund of refunds) {
    try {
      report.refundsFollowed++;
      await followRefund(deps, refund);
    } catch (error) {
      failed('refund follow-up', refund.orderNo, error);
    }
  }

  for (const order of await deps.store.findOrdersWithReservations(now - ORPHAN_RESERVATION_MS, batch)) {
    try {
      report.reservationsReleased += await releaseOrphanReservations(deps, order);
    } catch (error) {
      failed('reservation check', order.orderNo, error);
    }
  }

  const webhooks = await deliverDueWebhooks(deps, batch);
  report.webhooksDelivered = webhooks.delivered;
  report.webhooksFailed = webhooks.failed;
  if (Object.values(report).some((n) => n > 0)) deps.log.info('reconcile run', { ...report });
  return report;
}
