import type { PayError } from '../domain/errors';
import type { Deps } from './deps';
import { closeOrder } from './close';
import { followRefund } from './refunds';
import { queryAndSettle } from './settle';
import { deliverDueWebhooks } from './webhooks';

export interface ReconcileReport {
  queried: number;
  settled: number;
  closed: number;
  deferred: number;
  refundsFollowed: number;
  webhooksDelivered: number;
  webhooksFailed: number;
  errors: number;
}

/** Orders waiting for payment are queried once they are this old, and then at most this often. */
export const QUERY_AGE_MS = 60_000;

/**
 * The timer job (every minute on CloudBase). Bounded work per run (`batch` per step), safe to run twice at once:
 * every change is a compare-and-set and every Huifu call is claimed first. Steps:
 * 1. query orders waiting for payment for over a minute (notifications get lost: Huifu retries only 3 times);
 * 2. close expired or cancel-requested orders at Huifu, then locally (a success at close time becomes PAID);
 * 3. follow pending refunds; 4. deliver due app webhooks.
 */
export async function runReconcile(deps: Deps, options: { batch?: number } = {}): Promise<ReconcileReport> {
  const batch = options.batch ?? 20;
  const report: ReconcileReport = { queried: 0, settled: 0, closed: 0, deferred: 0, refundsFollowed: 0, webhooksDelivered: 0, webhooksFailed: 0, errors: 0 };
  const now = deps.clock.now();
  const failed = (what: string, orderNo: string, error: unknown) => {
    report.errors++;
    deps.log.warn(`reconcile: ${what} failed`, { orderNo, code: (error as PayError).code ?? 'UNKNOWN', error: (error as Error).message?.slice(0, 200) });
  };

  const waiting = await deps.store.findOrders({ statuses: ['CREATED', 'PAYING'], createdBefore: now - QUERY_AGE_MS, notQueriedSince: now - QUERY_AGE_MS, limit: batch });
  for (const order of waiting) {
    try {
      report.queried++;
      const after = await queryAndSettle(deps, order, 'reconcile', QUERY_AGE_MS);
      if (after.status !== order.status) report.settled++;
    } catch (error) {
      failed('query', order.orderNo, error);
    }
  }

  const expired = await deps.store.findOrders({ statuses: ['CREATED', 'PAYING'], expiresBefore: now, limit: batch });
  const cancelled = (await deps.store.findOrders({ statuses: ['CREATED', 'PAYING'], createdBefore: now - QUERY_AGE_MS, limit: batch * 5 })).filter((o) => o.flag === 'CANCEL_REQUESTED');
  const toClose = new Map([...expired, ...cancelled.slice(0, batch)].map((o) => [o.orderNo, o]));
  for (const candidate of toClose.values()) {
    try {
      const order = (await deps.store.getOrder(candidate.orderNo)) ?? candidate;
      const { outcome } = await closeOrder(deps, order, 'reconcile', order.flag === 'CANCEL_REQUESTED' ? 'cancelled by the user' : 'payment window expired');
      if (outcome === 'closed') report.closed++;
      else if (outcome === 'deferred') report.deferred++;
      else if (outcome === 'paid') report.settled++;
    } catch (error) {
      failed('close', candidate.orderNo, error);
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

  const webhooks = await deliverDueWebhooks(deps, batch);
  report.webhooksDelivered = webhooks.delivered;
  report.webhooksFailed = webhooks.failed;
  if (Object.values(report).some((n) => n > 0)) deps.log.info('reconcile run', { ...report });
  return report;
}
