import { shanghaiDate } from '../domain/time';
import type { Order, OrderEventSource } from '../domain/types';
import { HuifuBusinessError, HuifuCloseTooEarlyError, HuifuNotFoundError } from '../providers/huifu/errors';
import { newSerial, type Deps } from './deps';
import { queryAndSettle } from './settle';
import { MAX_CAS_ATTEMPTS, moveOrder, noteOrder } from './transitions';

export type CloseOutcome = 'closed' | 'deferred' | 'paid' | 'not_open';

/**
 * Closes an unpaid order at Huifu first, then locally (Jeepay's gap was closing only locally, so a user could
 * still pay the Huifu trade). Huifu refuses closes within a minute of creation: that is "deferred", never a failure.
 * If Huifu says the trade is already final, its outcome is fetched and applied instead.
 */
export async function closeOrder(deps: Deps, order: Order, source: OrderEventSource, reason: string): Promise<{ outcome: CloseOutcome; order: Order }> {
  if (order.status !== 'CREATED' && order.status !== 'PAYING') return { outcome: 'not_open', order };
  const now = deps.clock.now();
  let tradeExists = true;
  try {
    const result = await deps.gateway.close({ reqSeqId: newSerial('C', now), reqDate: shanghaiDate(now), orderNo: order.orderNo, orderReqDate: order.reqDate });
    if (result.tradeState === 'SUCCEEDED') {
      const settled = await queryAndSettle(deps, order, source, 0);
      return { outcome: 'paid', order: settled };
    }
    if (result.closeState !== 'SUCCEEDED') {
      await noteOrder(deps, order, source, `close at Huifu not finished (${result.closeState}); will retry`);
      return { outcome: 'deferred', order };
    }
  } catch (error) {
    if (error instanceof HuifuCloseTooEarlyError) {
      await noteOrder(deps, order, source, 'close deferred: Huifu refuses closing a trade younger than a minute');
      return { outcome: 'deferred', order };
    }
    if (error instanceof HuifuNotFoundError) {
      tradeExists = false; // nothing at Huifu to close (the create never reached it)
    } else if (error instanceof HuifuBusinessError && error.respCode === '10000016') {
      const settled = await queryAndSettle(deps, order, source, 0);
      return { outcome: settled.status === 'CLOSED' ? 'closed' : 'paid', order: settled };
    } else {
      throw error;
    }
  }
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const current = (await deps.store.getOrder(order.orderNo)) ?? order;
    if (current.status !== 'CREATED' && current.status !== 'PAYING') {
      return { outcome: current.status === 'CLOSED' ? 'closed' : 'paid', order: current };
    }
    const moved = await moveOrder(deps, current, 'CLOSED', { closedAt: deps.clock.now(), payInfo: null }, source, `${reason}${tradeExists ? ' (closed at Huifu)' : ' (no trade at Huifu)'}`);
    if (moved) return { outcome: 'closed', order: moved };
  }
  throw new Error(`closeOrder ${order.orderNo}: still contended`);
}
