/**
 * What an operator can look at and do, in one place for `pnpm ops` (terminal) and the console (web page): both call
 * these, so a refund or a replay from either goes through the same service code and the same checks.
 */
import { yuanToFen } from '../../cloudfunctions/src/domain/money';
import type { AppWebhook, InboxNotification, Order, OrderEvent, Refund } from '../../cloudfunctions/src/domain/types';
import { newSerial, type Deps } from '../../cloudfunctions/src/services/deps';
import { runReconcile, type ReconcileReport } from '../../cloudfunctions/src/services/reconcile';
import { requestRefund } from '../../cloudfunctions/src/services/refunds';
import { deliverWebhook, type DeliveryOutcome } from '../../cloudfunctions/src/services/webhooks';

export class OperationError extends Error {}

export interface OrderTimeline {
  order: Order;
  events: OrderEvent[];
  refunds: Refund[];
  notifications: InboxNotification[];
  webhooks: AppWebhook[];
}

/** An order by number or ref, with everything that happened to it. */
export async function orderTimeline(deps: Deps, key: string): Promise<OrderTimeline | null> {
  const order = (await deps.store.getOrder(key)) ?? (await deps.store.getOrderByRef(key));
  if (!order) return null;
  const [events, refunds, notifications, webhooks] = await Promise.all([
    deps.store.listOrderEvents(order.orderNo),
    deps.store.listRefundsByOrder(order.orderNo),
    deps.store.listNotifications({ reqSeqId: order.orderNo, limit: 50 }),
    deps.store.listWebhooks({ orderNo: order.orderNo, limit: 50 }),
  ]);
  return { order, events, refunds, notifications, webhooks };
}

/** A refund through the merchant API's own service; the refund number is generated when not given. */
export function refundOrder(deps: Deps, command: { orderNo: string; yuan: string; refundNo?: string | null; reason?: string | null }): Promise<Refund> {
  let amountFen: number;
  try {
    amountFen = yuanToFen(command.yuan);
  } catch (error) {
    throw new OperationError(`refund amount: ${(error as Error).message}`);
  }
  return requestRefund(deps, { orderNo: command.orderNo, refundNo: command.refundNo || newSerial('R', deps.clock.now()), amountFen, reason: command.reason || null });
}

/** Outcomes after which a notification has done all it will do (as services/notifications.ts counts them). */
const SETTLED_OUTCOMES = new Set(['applied', 'duplicate', 'ignored']);

/**
 * POSTs a stored, signed notification to payNotify again, exactly as Huifu sent it. `outcome` says what it did:
 * `duplicate` when it had already been applied (a replay then changes nothing), else the outcome now stored.
 */
export async function replayNotification(deps: Deps, idPrefix: string): Promise<{ id: string; url: string; status: number; text: string; outcome: string }> {
  const match = (await deps.store.listNotifications({ limit: 500 })).filter((n) => n.id.startsWith(idPrefix) && n.sign);
  if (match.length !== 1) throw new OperationError(match.length ? `${match.length} notifications start with ${idPrefix}; give more characters` : `no stored, signed notification ${idPrefix}`);
  const url = deps.config.huifuApi.notifyUrl;
  const body = new URLSearchParams({ resp_data: match[0]!.respData, sign: match[0]!.sign }).toString();
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body });
  } catch (error) {
    throw new OperationError(`could not reach payNotify at ${url} (HUIFU_NOTIFY_URL): ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`);
  }
  const text = (await res.text()).slice(0, 500);
  const before = match[0]!.outcome;
  const after = (await deps.store.getNotification(match[0]!.id))?.outcome ?? before;
  return { id: match[0]!.id, url, status: res.status, text, outcome: res.status === 200 && SETTLED_OUTCOMES.has(before) ? 'duplicate' : after };
}

/** Delivers an app webhook now, whatever its schedule or state (DEAD ones too). */
export async function resendWebhook(deps: Deps, id: string): Promise<{ outcome: DeliveryOutcome; webhook: AppWebhook | null }> {
  const hook = await deps.store.getWebhook(id);
  if (!hook) throw new OperationError(`no webhook ${id}`);
  const outcome = await deliverWebhook(deps, hook);
  return { outcome, webhook: await deps.store.getWebhook(id) };
}

export function reconcileNow(deps: Deps): Promise<ReconcileReport> {
  return runReconcile(deps);
}
