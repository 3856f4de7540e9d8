import { withFlag } from '../domain/order-state';
import type { Order, OrderEventSource } from '../domain/types';
import type { TradeOutcome } from '../providers/port';
import type { Deps } from './deps';
import { flagOrder, MAX_CAS_ATTEMPTS, moveOrder, noteOrder, reread } from './transitions';
import { enqueueOrderWebhook } from './webhooks';

export type SettleResult = 'applied' | 'duplicate' | 'ignored' | 'mismatch';

/**
 * The one place a Huifu payment outcome changes an order, whoever learnt it (notify, query, reconcile), starting from
 * the order as the caller read it. Success moves CREATED/PAYING to PAID and CLOSED to PAID_AFTER_CLOSE (money taken
 * after we closed: flagged for a person); failure moves CREATED/PAYING to FAILED. Anything else is late or repeated
 * and changes nothing. An amount that differs from the order, even by a fen, never moves it. "Processing" is never a
 * failure.
 */
export async function settleOrder(deps: Deps, order: Order, outcome: TradeOutcome, source: OrderEventSource): Promise<{ result: SettleResult; order: Order }> {
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (outcome.state === 'PROCESSING' || outcome.state === 'INITIAL') return { result: 'ignored', order: current };
    if (outcome.amountFen !== current.amountFen) {
      const flagged = await flagOrder(deps, current, 'AMOUNT_MISMATCH', source, `Huifu says ${outcome.amountFen} fen, order is ${current.amountFen} fen`);
      return { result: 'mismatch', order: flagged };
    }
    const provider = {
      hfSeqId: outcome.hfSeqId ?? current.hfSeqId,
      outTransId: outcome.outTransId ?? current.outTransId,
      partyOrderId: outcome.partyOrderId ?? current.partyOrderId,
      feeFen: outcome.feeFen ?? current.feeFen,
    };
    let moved: Order | null;
    if (outcome.state === 'SUCCEEDED') {
      if (current.status === 'CREATED' || current.status === 'PAYING') {
        moved = await moveOrder(deps, current, 'PAID', { ...provider, paidAt: outcome.paidAt ?? deps.clock.now() }, source, `trans_stat S (${source})`);
      } else if (current.status === 'CLOSED') {
        moved = await moveOrder(deps, current, 'PAID_AFTER_CLOSE', { ...provider, paidAt: outcome.paidAt ?? deps.clock.now(), flags: withFlag(current.flags, 'PAID_AFTER_CLOSE') }, source, 'trans_stat S after the order was closed: refund or review');
        if (moved) deps.log.error('money taken after close', { orderNo: current.orderNo, hfSeqId: provider.hfSeqId, source });
      } else if (current.status === 'FAILED') {
        const flagged = await flagOrder(deps, current, 'SUCCESS_AFTER_FAILURE', source, 'trans_stat S for an order recorded as failed');
        return { result: 'mismatch', order: flagged };
      } else {
        // Already paid (or refunded since). If the attempt that paid it stopped before its outbox row was written,
        // this writes it: the row's id is deterministic, so the app never gets a second webhook.
        if (current.status === 'PAID') await enqueueOrderWebhook(deps, current);
        return { result: 'duplicate', order: current };
      }
    } else if (current.status === 'CREATED' || current.status === 'PAYING') {
      moved = await moveOrder(deps, current, 'FAILED', provider, source, `trans_stat F (${source})`);
    } else {
      if (current.status !== 'FAILED') await noteOrder(deps, current, source, `trans_stat F while ${current.status} (${source}): no change`);
      return { result: current.status === 'FAILED' ? 'duplicate' : 'ignored', order: current };
    }
    if (moved) return { result: 'applied', order: moved };
    current = await reread(deps, current); // lost the compare-and-set to another writer: decide again
  }
  throw new Error(`settleOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}

/**
 * Asks Huifu about an order and applies what it says. Claims the query first (lastQueriedAt by compare-and-set), so
 * concurrent callers (order.get, reconcile) do not ask about the same order at once.
 */
export async function queryAndSettle(deps: Deps, order: Order, source: OrderEventSource, minIntervalMs: number): Promise<Order> {
  const now = deps.clock.now();
  if (order.lastQueriedAt !== null && now - order.lastQueriedAt < minIntervalMs) return order;
  const claimed = await deps.store.updateOrder(order, { lastQueriedAt: now, updatedAt: now });
  if (!claimed) return reread(deps, order);
  const status = await deps.gateway.queryPayment({ orderNo: order.orderNo, reqDate: order.reqDate });
  if (!status.found) return claimed;
  return (await settleOrder(deps, claimed, status, source)).order;
}
