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
import type { Deps } from './deps';
import { finishRefund } from './refunds';
import { recordRejection } from './rejections';
import { settleOrder } from './settle';
import { flagOrder } from './transitions';

export interface HttpAnswer {
  statusCode: number;
  body: string;
}

/** Outcomes that end Huifu's retries with the ack. */
const DONE = new Set(['applied', 'duplicate', 'ignored']);
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Huifu's asynchronous notification, from the raw HTTP body. Verify over the raw resp_data first: what fails before
 * that is anyone's junk, counted within a fixed bound (services/rejections.ts). A verified notification is applied to
 * the order by compare-and-set, then kept in the inbox (keyed by the sha256 of resp_data) with its outcome, and only
 * then answered 200 RECV_ORD_ID_<req_seq_id>. Anything not recorded gets a non-200, so Huifu sends it again;
 * applying is idempotent, so a repeat has no second effect.
 */
export async function handleHuifuNotification(deps: Deps, rawBody: string, contentType: string | undefined): Promise<HttpAnswer> {
  let respData: string;
  let sign: string;
  try {
    ({ respData, sign } = parseEnvelope(rawBody, contentType));
    verifyEnvelope({ respData, sign }, deps.config.huifu.huifuPublicKey);
  } catch (error) {
    if (!(error instanceof NotificationRejectedError)) throw error;
    await recordRejection(deps, error.reason, rawBody);
    return { statusCode: error.reason === 'too_large' ? 413 : 400, body: 'rejected' };
  }

  // From here on Huifu signed it: it is kept in full, whatever it says.
  const id = sha256(respData);
  const now = deps.clock.now();
  let note: HuifuNotification;
  try {
    note = classifyNotification(respData);
  } catch (error) {
    if (!(error instanceof NotificationRejectedError)) throw error;
    // Signed, but not fields we can act on (an amount like "019.90"): answering 200 would hide it, retrying forever
    // would not help. Kept as rejected for a person, answered 4xx.
    const outcome = `rejected:${error.reason}`;
    await deps.store.insertNotification({ id, kind: 'unknown', reqSeqId: peekReqSeqId(respData), notifyType: null, transStat: null, respData, sign, outcome, receivedAt: now, processedAt: now });
    deps.log.error('signed notification with unusable fields', { reqSeqId: peekReqSeqId(respData), reason: error.message.slice(0, 200) });
    return { statusCode: 400, body: 'rejected' };
  }

  return deps.store.inTransaction(async () => {
    const outcome = await apply(deps, note);
    const row: InboxNotification = {
      id,
      kind: note.kind === 'unfreeze' ? 'unknown' : note.kind,
      reqSeqId: note.reqSeqId,
      notifyType: note.notifyType,
      transStat: 'transStat' in note ? note.transStat : null,
      respData,
      sign,
      outcome,
      receivedAt: now,
      processedAt: deps.clock.now(),
    };
    const recorded = await record(deps, row);
    deps.log.info('notification processed', { reqSeqId: note.reqSeqId, kind: note.kind, notifyType: note.notifyType, outcome: recorded });
    return DONE.has(recorded) ? { statusCode: 200, body: ackFor(note.reqSeqId) } : { statusCode: 409, body: 'rejected' };
  });
}

/**
 * Keeps the notification with its outcome (the ack waits for this write). Seen before: a refused one that now
 * applies is upgraded; one already done stays as it was. Resolves the outcome that is stored.
 */
async function record(deps: Deps, row: InboxNotification): Promise<string> {
  if ((await deps.store.insertNotification(row)) === 'inserted') return row.outcome;
  const seen = await deps.store.getNotification(row.id);
  if (!seen) throw new Error(`notification ${row.id.slice(0, 12)} exists but cannot be read`);
  if (DONE.has(seen.outcome)) return seen.outcome;
  if (!DONE.has(row.outcome)) return row.outcome;
  if (await deps.store.updateNotification(row.id, seen.outcome, { outcome: row.outcome, processedAt: row.processedAt })) return row.outcome;
  return (await deps.store.getNotification(row.id))?.outcome ?? row.outcome;
}

async function apply(deps: Deps, note: HuifuNotification): Promise<string> {
  if (note.huifuId !== deps.config.huifu.huifuId) {
    const order = note.kind === 'pay' ? await deps.store.getOrder(note.reqSeqId) : null;
    if (order) await flagOrder(deps, order, 'NOTIFY_MISMATCH', 'notify', `notification for huifu_id ${note.huifuId}`);
    return 'rejected:huifu_id_mismatch';
  }
  if (note.kind === 'unfreeze') return 'ignored';
  if (note.kind === 'pay') {
    const order = await deps.store.getOrder(note.reqSeqId);
    if (!order) return 'rejected:unknown_order';
    const { result } = await settleOrder(deps, order, note, 'notify');
    return result === 'mismatch' ? 'rejected:amount_mismatch' : result;
  }
  const refund = await deps.store.getRefund(note.reqSeqId);
  if (!refund) return 'rejected:unknown_refund';
  if ((note.orgReqSeqId && note.orgReqSeqId !== refund.orderNo) || note.amountFen !== refund.amountFen) {
    deps.log.error('refund notification does not match the refund', { refundNo: refund.refundNo, orderNo: refund.orderNo, notifiedFen: note.amountFen, refundFen: refund.amountFen });
    return 'rejected:refund_mismatch';
  }
  if (note.state !== 'SUCCEEDED' && note.state !== 'FAILED') return 'ignored';
  const result = await finishRefund(deps, refund, { state: note.state, hfSeqId: note.hfSeqId, failReason: note.failReason }, 'notify');
  return result === 'applied' || result === 'corrected' ? 'applied' : result === 'duplicate' ? 'duplicate' : 'ignored';
}
