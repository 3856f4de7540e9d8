import { createHash } from 'node:crypto';
import type { InboxNotification } from '../domain/types';
import {
  ackFor,
  classifyNotification,
  NotificationRejectedError,
  parseEnvelope,
  peekReqSeqId,
  verifyEnvelope,
  type HuifuNotification,
} from '../providers/huifu/notify';
import { DuplicateError } from '../store/port';
import type { Deps } from './deps';
import { finishRefund } from './refunds';
import { settleOrder } from './settle';
import { flagOrder } from './transitions';

export interface HttpAnswer {
  statusCode: number;
  body: string;
}

const DONE = new Set(['applied', 'duplicate', 'ignored']);
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Huifu's asynchronous notification, from the raw HTTP body. Verify over the raw resp_data, store it in the inbox
 * (keyed by its sha256), check it against the order, apply it by compare-and-set, record the outcome, and only then
 * answer 200 RECV_ORD_ID_<req_seq_id>. Duplicates are acknowledged without a second effect. Anything that cannot be
 * durably recorded gets a non-200, so Huifu sends it again.
 */
export async function handleHuifuNotification(deps: Deps, rawBody: string, contentType: string | undefined): Promise<HttpAnswer> {
  let note: HuifuNotification;
  let respData: string;
  let sign: string;
  try {
    ({ respData, sign } = parseEnvelope(rawBody, contentType));
    verifyEnvelope({ respData, sign }, deps.config.huifu.huifuPublicKey);
    note = classifyNotification(respData);
  } catch (error) {
    if (!(error instanceof NotificationRejectedError)) throw error;
    await recordRejected(deps, rawBody, error.reason, contentType);
    return { statusCode: error.reason === 'too_large' ? 413 : 400, body: 'rejected' };
  }

  const id = sha256(respData);
  const now = deps.clock.now();
  const row: InboxNotification = {
    id,
    kind: note.kind === 'unfreeze' ? 'unknown' : note.kind,
    reqSeqId: note.reqSeqId,
    notifyType: note.notifyType,
    transStat: 'transStat' in note ? note.transStat : null,
    respData,
    sign,
    outcome: 'received',
    receivedAt: now,
    processedAt: null,
  };
  try {
    await deps.store.insertNotification(row);
  } catch (error) {
    if (!(error instanceof DuplicateError)) throw error;
    const seen = await deps.store.getNotification(id);
    if (seen && DONE.has(seen.outcome)) {
      deps.log.info('duplicate notification acknowledged', { reqSeqId: note.reqSeqId, notificationId: id.slice(0, 12) });
      return { statusCode: 200, body: ackFor(note.reqSeqId) };
    }
    // Received before but not finished (a crash, or it was refused): process it again; applying is idempotent.
  }

  const outcome = await apply(deps, note);
  await deps.store.updateNotification(id, { outcome, processedAt: deps.clock.now() });
  deps.log.info('notification processed', { reqSeqId: note.reqSeqId, kind: note.kind, notifyType: note.notifyType, outcome });
  if (!DONE.has(outcome)) return { statusCode: 409, body: 'rejected' };
  return { statusCode: 200, body: ackFor(note.reqSeqId) };
}

async function apply(deps: Deps, note: HuifuNotification): Promise<string> {
  if (note.huifuId !== deps.config.huifu.huifuId) {
    if (note.kind === 'pay') await flagOrder(deps, note.reqSeqId, 'NOTIFY_MISMATCH', 'notify', `notification for huifu_id ${note.huifuId}`);
    return 'rejected:huifu_id_mismatch';
  }
  if (note.kind === 'unfreeze') return 'ignored';
  if (note.kind === 'pay') {
    const order = await deps.store.getOrder(note.reqSeqId);
    if (!order) return 'rejected:unknown_order';
    const { result } = await settleOrder(deps, order.orderNo, note, 'notify');
    return result === 'mismatch' ? 'rejected:amount_mismatch' : result;
  }
  const refund = await deps.store.getRefund(note.reqSeqId);
  if (!refund) return 'rejected:unknown_refund';
  if ((note.orgReqSeqId && note.orgReqSeqId !== refund.orderNo) || note.amountFen !== refund.amountFen) {
    return 'rejected:refund_mismatch';
  }
  if (note.state !== 'SUCCEEDED' && note.state !== 'FAILED') return 'ignored';
  const before = refund.status;
  await finishRefund(deps, refund.refundNo, { state: note.state, hfSeqId: note.hfSeqId, failReason: note.failReason }, 'notify');
  return before === 'PENDING' ? 'applied' : 'duplicate';
}

/** A refused notification is kept too (keyed by the hash of the whole body), with its reason, for the ops log. */
async function recordRejected(deps: Deps, rawBody: string, reason: string, contentType: string | undefined): Promise<void> {
  const kept = rawBody.slice(0, 4096);
  const respData = (() => {
    try {
      return parseEnvelope(rawBody, contentType).respData;
    } catch {
      return kept;
    }
  })();
  try {
    await deps.store.insertNotification({
      id: sha256(rawBody),
      kind: 'unknown',
      reqSeqId: peekReqSeqId(respData),
      notifyType: null,
      transStat: null,
      respData: respData.slice(0, 4096),
      sign: '',
      outcome: `rejected:${reason}`,
      receivedAt: deps.clock.now(),
      processedAt: deps.clock.now(),
    });
  } catch (error) {
    if (!(error instanceof DuplicateError)) throw error;
  }
  deps.log.warn('notification rejected', { reason, reqSeqId: peekReqSeqId(respData) });
}
