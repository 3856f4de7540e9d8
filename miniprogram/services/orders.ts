import type { CancelResult, CreateResult, ListResult, OrderView, PreviewResult } from '@cashier/shared/contracts';
import { callWithSession } from './session';

/** Page-facing calls: fetch* reads, submit* / cancel* write. */
export const fetchPreview = (checkoutToken: string) => callWithSession<PreviewResult>('order', { action: 'preview', checkoutToken });
export const submitOrder = (checkoutToken: string) => callWithSession<CreateResult>('order', { action: 'create', checkoutToken });
export const resumeOrderPayment = (orderNo: string) => callWithSession<CreateResult>('order', { action: 'pay', orderNo });
export const fetchOrder = (orderNo: string) => callWithSession<OrderView>('order', { action: 'get', orderNo });
export const fetchOrders = (cursor?: string) => callWithSession<ListResult>('order', { action: 'list', limit: 20, ...(cursor ? { cursor } : {}) });
export const cancelOrder = (orderNo: string) => callWithSession<CancelResult>('order', { action: 'cancel', orderNo });
