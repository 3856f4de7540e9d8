/**
 * The Huifu sandbox's control routes under /_sandbox/: what a developer (or a test, or the console) does that Huifu
 * itself would do — pay or fail a trade, settle a refund or a close, shape notifications, inject faults, move the
 * clock. Anything unknown (a trade, a fault kind, a mode) is refused with 4xx and says what is accepted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, send } from '../../lib/http';
import type { HuifuSandbox } from './index';
import { FAULT_KINDS, OPERATIONS, type FaultKind, type Operation } from './gateway';
import { NOTIFY_MODE_KINDS, type NotifyMode } from './notifier';
import { Refusal } from './state';

class BadRequest extends Error {}

export async function handleControl(sandbox: HuifuSandbox, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const { text } = await readBody(req, 64 * 1024);
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return send(res, 400, { error: 'body must be JSON' });
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return send(res, 400, { error: 'body must be a JSON object' });
  const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
  const count = () => {
    if (body.count === undefined) return undefined;
    if (typeof body.count !== 'number' || !Number.isInteger(body.count) || body.count < 1) throw new BadRequest('count must be a whole number from 1');
    return body.count;
  };
  const result = (): 'S' | 'F' => {
    if (body.result === undefined || body.result === 'S') return 'S';
    if (body.result === 'F') return 'F';
    throw new BadRequest('result must be "S" or "F"');
  };
  try {
    switch (`${req.method} ${path}`) {
      case 'POST /_sandbox/pay': {
        // By req_seq_id, or by the wx.requestPayment package ("prepay_id=sandbox_<hf_seq_id>") as a cashier sees it.
        const prepay = str('prepay_id').replace(/^prepay_id=/, '').replace(/^sandbox_/, '');
        const reqSeqId = str('req_seq_id') || ([...sandbox.state.trades.values()].find((t) => t.hfSeqId === prepay)?.reqSeqId ?? '');
        if (!reqSeqId) return send(res, 404, { error: `no trade ${str('prepay_id') || '(give req_seq_id or prepay_id)'}` });
        const outcome = result();
        // Checked before anything happens, so the answer says why not (unknown, closed, expired, already settled).
        sandbox.gateway.payableTrade(reqSeqId, body.force === true);
        const done = sandbox.pay(reqSeqId, outcome, { force: body.force === true });
        if (body.wait === true) await done;
        else done.catch(() => undefined);
        return send(res, 200, { ok: true, trade: sandbox.trade(reqSeqId) });
      }
      case 'POST /_sandbox/notify/resend':
        await sandbox.resendNotification(str('req_seq_id'), typeof body.notify_type === 'number' ? body.notify_type : undefined);
        return send(res, 200, { ok: true });
      case 'POST /_sandbox/notify/mode': {
        const kind = str('mode') as NotifyMode['kind'];
        if (!NOTIFY_MODE_KINDS.includes(kind)) throw new BadRequest(`mode must be one of ${NOTIFY_MODE_KINDS.join('|')}`);
        const mode = (kind === 'delay' ? { kind, ms: Number(body.ms ?? 1000) } : { kind }) as NotifyMode;
        sandbox.setNotifyMode(mode, count());
        return send(res, 200, { ok: true });
      }
      case 'POST /_sandbox/faults': {
        const operation = (str('operation') || 'any') as Operation;
        const kind = str('kind') as FaultKind;
        if (!OPERATIONS.includes(operation)) throw new BadRequest(`operation must be one of ${OPERATIONS.join('|')}`);
        if (!FAULT_KINDS.includes(kind)) throw new BadRequest(`kind must be one of ${FAULT_KINDS.join('|')}`);
        sandbox.injectFault({ operation, kind, count: count() ?? 1, respCode: str('resp_code') || undefined, respDesc: str('resp_desc') || undefined });
        return send(res, 200, { ok: true });
      }
      case 'POST /_sandbox/clock/advance': {
        const ms = Number(body.ms ?? 0);
        if (!Number.isFinite(ms) || ms < 0) throw new BadRequest('ms must be a number of milliseconds, 0 or more');
        sandbox.advanceClock(ms);
        return send(res, 200, { ok: true, now: sandbox.now() });
      }
      case 'POST /_sandbox/refund/settle':
        await sandbox.settleRefund(str('req_seq_id'), result());
        return send(res, 200, { ok: true });
      case 'POST /_sandbox/close/settle':
        sandbox.settleClose(str('req_seq_id'));
        return send(res, 200, { ok: true });
      case 'POST /_sandbox/duplicates': {
        const mode = str('mode');
        if (mode !== 'replay' && mode !== 'refuse') throw new BadRequest('mode must be replay or refuse');
        sandbox.state.duplicateRule = mode;
        return send(res, 200, { ok: true });
      }
      case 'POST /_sandbox/reset':
        sandbox.reset();
        return send(res, 200, { ok: true });
      case 'GET /_sandbox/log':
        return send(res, 200, { requests: sandbox.requests, notifications: sandbox.notifications });
      default:
        if (req.method === 'GET' && path.startsWith('/_sandbox/trades/')) {
          const trade = sandbox.trade(decodeURIComponent(path.slice('/_sandbox/trades/'.length)));
          return trade ? send(res, 200, trade) : send(res, 404, { error: 'no such trade' });
        }
        if (req.method === 'GET' && path.startsWith('/_sandbox/files/')) {
          return send(res, 200, '交易日期,交易流水号,交易金额\n', 'text/csv; charset=utf-8');
        }
        return send(res, 404, { error: `no control route ${req.method} ${path}` });
    }
  } catch (error) {
    if (error instanceof BadRequest || error instanceof URIError) return send(res, 400, { error: error.message });
    if (error instanceof Refusal) return send(res, error.respCode === '404' ? 404 : 409, { error: error.message });
    throw error;
  }
}
