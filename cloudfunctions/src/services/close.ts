import { shanghaiDate } from '../domain/time';
import type { CloseRequest, Order, OrderEventSource } from '../domain/types';
import {
  HuifuBusinessError,
  HuifuCloseExistsError,
  HuifuCloseTooEarlyError,
  HuifuError,
  HuifuNotFoundError,
  HuifuTradeFinalError,
} from '../providers/huifu/errors';
import type { CloseResult } from '../providers/port';
import { newSerial, type Deps } from './deps';
import { queryAndSettle } from './settle';
import { flagOrder, MAX_CAS_ATTEMPTS, moveOrder, noteOrder, reread } from './transitions';

/**
 * closed: CLOSED at Huifu and here · closing: Huifu is closing it (answered P), reconcile follows with close query ·
 * deferred: not closed yet (too young, or Huifu refused for now), reconcile tries again · paid: the trade was paid ·
 * not_open: nothing to close.
 */
export type CloseOutcome = 'closed' | 'closing' | 'deferred' | 'paid' | 'not_open';
type Closed = { outcome: CloseOutcome; order: Order };

const isOpen = (order: Order) => order.status === 'CREATED' || order.status === 'PAYING';
const commandFor = (order: Order, close: CloseRequest) => ({ reqSeqId: close.reqSeqId, reqDate: close.reqDate, orderNo: order.orderNo, orderReqDate: order.reqDate });

function settled(order: Order): Closed {
  if (order.status === 'CLOSED') return { outcome: 'closed', order };
  if (isOpen(order)) return { outcome: 'deferred', order };
  return { outcome: order.status === 'FAILED' ? 'closed' : 'paid', order };
}

/**
 * Closes an unpaid order at Huifu first, then locally (Jeepay's gap was closing only locally, so a user could still
 * pay the Huifu trade). The close is a request of its own, stored before it is sent: a close answered P, or whose
 * answer was lost, is followed with close query on that same request until S or F, never sent twice (Huifu refuses a
 * second close of a trade). The order is CLOSED only once the close is S; a trade paid meanwhile settles PAID.
 */
export async function closeOrder(deps: Deps, order: Order, source: OrderEventSource, reason: string): Promise<Closed> {
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!isOpen(current)) return { outcome: 'not_open', order: current };
    if (current.closeRequest?.state === 'PROCESSING') return followClose(deps, current, source, reason);
    const now = deps.clock.now();
    const close: CloseRequest = { reqSeqId: newSerial('C', now), reqDate: shanghaiDate(now), state: 'PROCESSING', at: now };
    const stored = await deps.store.updateOrder(current, { closeRequest: close, updatedAt: now }, { from: current.status, to: current.status, source, at: now, detail: `close ${close.reqSeqId} sent to Huifu (${reason})` });
    if (!stored) {
      current = await reread(deps, current);
      continue;
    }
    let result: CloseResult;
    try {
      result = await deps.gateway.close(commandFor(stored, close));
    } catch (error) {
      return closeFailed(deps, stored, error, source, reason, 'close');
    }
    return applyCloseResult(deps, stored, result, source, reason);
  }
  throw new Error(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}

/** Asks Huifu how the stored close request stands (close query on the same request). */
export async function followClose(deps: Deps, order: Order, source: OrderEventSource, reason: string): Promise<Closed> {
  const close = order.closeRequest;
  if (!close || close.state !== 'PROCESSING') return closeOrder(deps, order, source, reason);
  const now = deps.clock.now();
  // Claimed by compare-and-set, so two followers never ask at once; it also moves the next follow-up later.
  const claimed = await deps.store.updateOrder(order, { closeRequest: { ...close, at: now }, updatedAt: now });
  if (!claimed) return settled(await reread(deps, order));
  let result: CloseResult;
  try {
    result = await deps.gateway.queryClose(commandFor(claimed, close));
  } catch (error) {
    return closeFailed(deps, claimed, error, source, reason, 'query');
  }
  await noteOrder(deps, claimed, source, `close query ${close.reqSeqId}: close ${result.closeState}${result.tradeState ? `, trade ${result.tradeState}` : ''}`);
  return applyCloseResult(deps, claimed, result, source, reason);
}

async function applyCloseResult(deps: Deps, order: Order, result: CloseResult, source: OrderEventSource, reason: string): Promise<Closed> {
  const close = order.closeRequest!;
  if (result.tradeState === 'SUCCEEDED') return settled(await queryAndSettle(deps, order, source, 0));
  if (result.closeState === 'PROCESSING') return { outcome: 'closing', order };
  if (result.closeState === 'SUCCEEDED') return markClosed(deps, order, { ...close, state: 'SUCCEEDED', at: deps.clock.now() }, source, `${reason} (closed at Huifu, close ${close.reqSeqId})`);
  // The close failed at Huifu: most likely the trade moved first. Ask about the trade and apply what it says.
  const failed = await markCloseFailed(deps, order, source, `close ${close.reqSeqId} failed at Huifu`);
  return settled(await queryAndSettle(deps, failed, source, 0));
}

async function closeFailed(deps: Deps, order: Order, error: unknown, source: OrderEventSource, reason: string, step: 'close' | 'query'): Promise<Closed> {
  const close = order.closeRequest!;
  if (error instanceof HuifuCloseExistsError) {
    // Another close of this trade already exists at Huifu (ours, whose answer was lost): follow it, never close again.
    await noteOrder(deps, order, source, `close ${close.reqSeqId}: Huifu already has a close for this trade; following it with close query`);
    return step === 'close' ? followClose(deps, order, source, reason) : { outcome: 'closing', order };
  }
  if (error instanceof HuifuCloseTooEarlyError) {
    return { outcome: 'deferred', order: await markCloseFailed(deps, order, source, 'Huifu refuses closing a trade younger than a minute; trying again later') };
  }
  if (error instanceof HuifuTradeFinalError) return settled(await queryAndSettle(deps, order, source, 0));
  if (error instanceof HuifuNotFoundError) {
    if (step === 'close') {
      // Huifu has no such trade (the create never reached it): there is nothing to pay, close it here.
      return markClosed(deps, order, { ...close, state: 'SUCCEEDED', at: deps.clock.now() }, source, `${reason} (no trade at Huifu)`);
    }
    // Huifu has no close for this trade: ours never arrived. A new close may be sent.
    return { outcome: 'deferred', order: await markCloseFailed(deps, order, source, `close ${close.reqSeqId} never reached Huifu`) };
  }
  if (error instanceof HuifuError && error.ambiguous) {
    // The close may or may not have arrived: it stays PROCESSING and is followed with close query.
    await noteOrder(deps, order, source, `close ${close.reqSeqId}: no answer from Huifu (${error.code}); following it with close query`);
    return { outcome: 'closing', order };
  }
  if (error instanceof HuifuBusinessError || (error instanceof HuifuError && !error.ambiguous)) {
    const failed = await markCloseFailed(deps, order, source, `close ${close.reqSeqId} refused: ${error.message.slice(0, 160)}`);
    const refusedForGood = error instanceof HuifuBusinessError && !error.retryable;
    // The caller gets the order as stored last (flagged), so a next compare-and-set starts from its version.
    return { outcome: 'deferred', order: refusedForGood ? await flagOrder(deps, failed, 'CLOSE_REFUSED', source, error.message.slice(0, 160)) : failed };
  }
  throw error;
}

async function markClosed(deps: Deps, order: Order, close: CloseRequest, source: OrderEventSource, detail: string): Promise<Closed> {
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!isOpen(current)) return settled(current);
    const moved = await moveOrder(deps, current, 'CLOSED', { closedAt: deps.clock.now(), payInfo: null, closeRequest: close }, source, detail);
    if (moved) return { outcome: 'closed', order: moved };
    current = await reread(deps, current);
  }
  throw new Error(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}

/** The close request is over without closing: FAILED, so reconcile may send a new one a minute later. */
async function markCloseFailed(deps: Deps, order: Order, source: OrderEventSource, detail: string): Promise<Order> {
  let current = order;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!isOpen(current) || current.closeRequest?.state !== 'PROCESSING') return current;
    const at = deps.clock.now();
    const updated = await deps.store.updateOrder(current, { closeRequest: { ...current.closeRequest, state: 'FAILED', at }, updatedAt: at }, { from: current.status, to: current.status, source, at, detail });
    if (updated) return updated;
    current = await reread(deps, current);
  }
  throw new Error(`closeOrder ${order.orderNo}: still contended after ${MAX_CAS_ATTEMPTS} attempts`);
}
