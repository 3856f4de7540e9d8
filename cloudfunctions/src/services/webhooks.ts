import type { OrderStatus } from '@cashier/shared';
import { webhookSignatureHeader } from '../auth/hmac';
import type { AppWebhook, Order, Refund } from '../domain/types';
import type { Deps } from './deps';

/**
 * The outbox to the app backend. A state change writes a row with a deterministic id (so writing it twice is a
 * no-op); reconcile delivers due rows with a signed POST, backing off exponentially, and marks a row DEAD after
 * MAX_ATTEMPTS. The app must still treat our webhooks as at-least-once and idempotent by `id`.
 */
export const MAX_ATTEMPTS = 8;
const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 60 * 60_000;
const CLAIM_LEASE_MS = 60_000;

const ORDER_EVENTS: Partial<Record<OrderStatus, string>> = {
  PAID: 'order.paid',
  PAID_AFTER_CLOSE: 'order.paid_after_close',
  CLOSED: 'order.closed',
  PARTIALLY_REFUNDED: 'order.partially_refunded',
  REFUNDED: 'order.refunded',
};

export function backoffMs(attempts: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(attempts - 1, 0), MAX_BACKOFF_MS);
}

async function enqueue(deps: Deps, id: string, event: string, orderNo: string, data: Record<string, unknown>): Promise<void> {
  if (!deps.config.outbox.webhookUrl) return;
  const at = deps.clock.now();
  const payload = JSON.stringify({ id, event, created_at: Math.floor(at / 1000), data });
  const row: AppWebhook = { id, event, orderNo, payload, status: 'PENDING', attempts: 0, nextAttemptAt: at, lastError: null, version: 1, createdAt: at, updatedAt: at };
  await deps.store.insertWebhook(row);
}

export function orderWebhookData(order: Order): Record<string, unknown> {
  return {
    order_no: order.orderNo,
    ref: order.appRef,
    status: order.status,
    amount_fen: order.amountFen,
    refunded_fen: order.refundedFen,
    paid_at: order.paidAt,
    hf_seq_id: order.hfSeqId,
    attach: order.attach,
  };
}

export async function enqueueOrderWebhook(deps: Deps, order: Order): Promise<void> {
  const event = ORDER_EVENTS[order.status];
  if (!event) return;
  await enqueue(deps, `wh_${order.orderNo}_${order.status}_${order.refundedFen}`, event, order.orderNo, orderWebhookData(order));
}

function refundWebhookData(refund: Refund, order: Order): Record<string, unknown> {
  return {
    refund_no: refund.refundNo,
    order_no: order.orderNo,
    ref: order.appRef,
    amount_fen: refund.amountFen,
    status: refund.status,
    fail_reason: refund.failReason,
  };
}

export async function enqueueRefundWebhook(deps: Deps, refund: Refund, order: Order): Promise<void> {
  if (refund.status === 'PENDING') return;
  await enqueue(deps, `wh_${refund.refundNo}_${refund.status}`, refund.status === 'SUCCEEDED' ? 'refund.succeeded' : 'refund.failed', order.orderNo, refundWebhookData(refund, order));
}

/**
 * Huifu completed a refund we had recorded as failed and the balance no longer covers it: the money went back to the
 * user, the order is flagged, and the app backend must look at it too.
 */
export async function enqueueRefundReviewWebhook(deps: Deps, refund: Refund, order: Order): Promise<void> {
  await enqueue(deps, `wh_${refund.refundNo}_REVIEW`, 'refund.review_required', order.orderNo, {
    ...refundWebhookData(refund, order),
    huifu_status: 'SUCCEEDED',
    flags: order.flags,
  });
}

async function post(deps: Deps, url: string, body: string, headers: Record<string, string>): Promise<{ status: number }> {
  if (deps.postWebhook) return deps.postWebhook(url, body, headers);
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(deps.config.http.timeoutMs), redirect: 'manual' });
  await res.arrayBuffer();
  return { status: res.status };
}

/** Attempts one webhook now, whatever its schedule (used by reconcile and by the ops CLI's resend). */
export type DeliveryOutcome = 'DELIVERED' | 'RETRY' | 'DEAD' | 'SKIPPED';

export async function deliverWebhook(deps: Deps, hook: AppWebhook): Promise<DeliveryOutcome> {
  const { webhookUrl } = deps.config.outbox;
  const webhookSecret = webhookUrl ? deps.config.webhookDelivery.secret : null;
  if (!webhookUrl || !webhookSecret) return 'SKIPPED';
  const now = deps.clock.now();
  // Claim the row first (a lease on its schedule) so two reconcile runs at once do not both send it.
  const claimed = await deps.store.updateWebhook(hook, { nextAttemptAt: now + CLAIM_LEASE_MS, updatedAt: now });
  if (!claimed) return 'SKIPPED';
  let error: string | null = null;
  try {
    const res = await post(deps, webhookUrl, hook.payload, {
      'content-type': 'application/json',
      'x-cashier-event': hook.event,
      'x-cashier-signature': webhookSignatureHeader(webhookSecret, hook.payload, now),
    });
    if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
  } catch (e) {
    error = (e as Error).name === 'TimeoutError' ? 'timeout' : `network error: ${(e as Error).message}`.slice(0, 200);
  }
  const attempts = hook.attempts + 1;
  const status = error === null ? 'DELIVERED' : attempts >= MAX_ATTEMPTS ? 'DEAD' : 'PENDING';
  await deps.store.updateWebhook(claimed, { status, attempts, lastError: error, nextAttemptAt: now + backoffMs(attempts), updatedAt: now });
  const fields = { webhookId: hook.id, orderNo: hook.orderNo, event: hook.event, attempts, error };
  if (status === 'DEAD') deps.log.error('app webhook dead after retries', fields);
  else if (error) deps.log.warn('app webhook failed, will retry', fields);
  return status === 'PENDING' ? 'RETRY' : status;
}

export async function deliverDueWebhooks(deps: Deps, limit: number): Promise<{ delivered: number; failed: number }> {
  const due = await deps.store.findWebhooksDue(deps.clock.now(), limit);
  let delivered = 0;
  let failed = 0;
  for (const hook of due) {
    const status = await deliverWebhook(deps, hook);
    if (status === 'DELIVERED') delivered++;
    else if (status !== 'SKIPPED') failed++;
  }
  return { delivered, failed };
}
