import type { CreateResult, ListResult, OrderView, PreviewResult } from '@cashier/shared/contracts';
import { callWithSession, sessionAtHand } from './session';
import { callFunction } from './transport';

/** Page-facing calls: fetch* reads; submit* and resume* write. No page cancels an order: an unpaid order expires. */

/**
 * The checkout as its token describes it. With a session at hand it also says whether this user already has the
 * order; without one it is asked anonymously, so the page need not wait for the login first.
 */
export function fetchPreview(checkoutToken: string, options: { needSession?: boolean } = {}) {
  const sessionToken = sessionAtHand();
  if (sessionToken || options.needSession) return callWithSession<PreviewResult>('order', { action: 'preview', checkoutToken });
  return callFunction<PreviewResult>('order', { action: 'preview', checkoutToken });
}
export const submitOrder = (checkoutToken: string) => callWithSession<CreateResult>('order', { action: 'create', checkoutToken });
export const resumeOrderPayment = (orderNo: string) => callWithSession<CreateResult>('order', { action: 'pay', orderNo });
export const fetchOrder = (orderNo: string) => callWithSession<OrderView>('order', { action: 'get', orderNo });
export const fetchOrders = (cursor?: string | null) => callWithSession<ListResult>('order', { action: 'list', limit: 20, ...(cursor ? { cursor } : {}) });
