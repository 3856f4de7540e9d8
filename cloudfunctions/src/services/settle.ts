import type { Order, OrderEventSource } from '../domain/types';
import type { TradeOutcome } from '../providers/port';
import type { Deps } from './deps';
import { flagOrder, MAX_CAS_ATTEMPTS, moveOrder, noteOrder } from './transitions';
import { enqueueOrderWebhook } from './webhooks';

export type SettleResult = 'applied' | 'duplicate' | 'ignored' | 'mismatch';

/**
 * The one place a Huifu payment outcome changes an order, whoever learnt it (notify, query, reconcile).
 * Success moves CREATED/PAYING to PAID and CLOSED to PAID_AFTER_CLOSE (money taken after we closed: flagged for a
 * person); failure moves CREATED/PAYING to FAILED. Anything else is late or repeated and changes nothing but the
 * audit trail. An amount that differs from the order never moves it. "Processing" is never a failure.
 */
export async function settleOrder(deps: Deps, orderNo: string, outcome: TradeOutcome, source: OrderEventSource): Promise<{ result: SettleResult; order: Order | null }> {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const order = await deps.store.getOrder(orderNo);
    if (!order) return { result: 'ignored', order: null };
    if (outcome.state === 'PROCESSING' || outcome.state === 'INITIAL') return { result: 'ignored', order };
    if (outcome.amountFen !== order.amountFen) {
      await flagOrder(deps, orderNo, 'AMOUNT_MISMATCH', source, `Huifu says ${outcome.amountFen} fen, order is ${order.amountFen} fen`);
      return { result: 'mismatch', order };
    }
    const provider = {
      hfSeqId: outcome.hfSeqId ?? order.hfSeqId,
      outTransId: outcome.outTransId ?? order.outTransId,
      partyOrderId: outcome.partyOrderId ?? order.partyOrderId,
      feeFen: outcome.feeFen ?? order.feeFen,
    };
    let moved: Order | null;
    if (outcome.state === 'SUCCEEDED') {
      if (order.status === 'CREATED' || order.status === 'PAYING') {
        moved = await moveOrder(deps, order, 'PAID', { ...provider, paidAt: outcome.paidAt ?? deps.clock.now() }, source, `trans_stat S (${source})`);
      } else if (order.status === 'CLOSED') {
        moved = await moveOrder(deps, order, 'PAID_AFTER_CLOSE', { ...provider, paidAt: outcome.paidAt ?? deps.clock.now(), flag: 'PAID_AFTER_CLOSE' }, source, 'trans_stat S after the order was closed: refund or review');
        if (moved) deps.log.error('money taken after close', { orderNo, hfSeqId: provider.hfSeqId, source });
      } else if (order.status === 'FAILED') {
        await flagOrder(deps, orderNo, 'SUCCESS_AFTER_FAILURE', source, 'trans_stat S for an order recorded as failed');
        return { result: 'mismatch', order };
      } else {
        await noteOrder(deps, order, source, `trans_stat S again (${source}): no change`);
        if (order.status === 'PAID') await ensurePaidRecorded(deps, order, source);
        return { result: 'duplicate', order };
      }
    } else if (order.status === 'CREATED' || order.status === 'PAYING') {
      moved = await moveOrder(deps, order, 'FAILED', provider, source, `trans_stat F (${source})`);
    } else {
      await noteOrder(deps, order, source, `trans_stat F while ${order.status} (${source}): no change`);
      return { result: order.status === 'FAILED' ? 'duplicate' : 'ignored', order };
    }
    if (moved) return { result: 'applied', order: moved };
    // Lost the compare-and-set to another writer: read again and decide again.
  }
  throw new Error(`settleOrder ${orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}

/**
 * A retry of a success finds the order already PAID. If the attempt that moved it failed before writing its audit
 * event and outbox row (the store failed after the compare-and-set), write them now: the outbox id is deterministic,
 * so this never sends the app a second webhook.
 */
async function ensurePaidRecorded(deps: Deps, order: Order, source: OrderEventSource): Promise<void> {
  const events = await deps.store.listOrderEvents(order.orderNo);
  if (!events.some((e) => e.to === 'PAID' && e.from !== 'PAID')) {
    await deps.store.appendOrderEvent({ orderNo: order.orderNo, from: null, to: 'PAID', source, at: deps.clock.now(), detail: 'recorded on a retry: the first attempt failed after the state change' });
  }
  await enqueueOrderWebhook(deps, order);
}

/**
 * Asks Huifu about an order and applies what it says. Claims the query first (lastQueriedAt by compare-and-set)
 * so concurrent callers (order.get, reconcile) do not ask about the same order at once.
 */
export async function queryAndSettle(deps: Deps, order: Order, source: OrderEventSource, minIntervalMs: number): Promise<Order> {
  const now = deps.clock.now();
  if (order.lastQueriedAt !== null && now - order.lastQueriedAt < minIntervalMs) return order;
  const claimed = await deps.store.updateOrder(order.orderNo, { status: order.status, version: order.version }, { lastQueriedAt: now, updatedAt: now });
  if (!claimed) return (await deps.store.getOrder(order.orderNo)) ?? order;
  const status = await deps.gateway.queryPayment({ orderNo: order.orderNo, reqDate: order.reqDate });
  if (!status.found) return (await deps.store.getOrder(order.orderNo)) ?? order;
  const { order: settled } = await settleOrder(deps, order.orderNo, status, source);
  return settled ?? order;
}
