/**
 * `pnpm ops <command>`: operations on the local stack (reads .local/, talks to a running `pnpm dev`) or, with a
 * .env holding STORE=cloudbase and the production variables, on a deployed environment.
 *   order <order_no|ref>                 the order, its history, refunds, notifications and webhooks
 *   refund <order_no> <yuan> [--refund-no N] [--reason R]
 *   replay <notification id (prefix)>    posts a stored Huifu notification to payNotify again
 *   resend-webhook <webhook id>          delivers an app webhook now (also DEAD ones)
 *   reconcile                            runs reconcile once
 *   notifications [--limit N]            the latest notifications in the inbox
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatFen } from '@cashier/shared';
import { loadConfig } from '../cloudfunctions/src/config';
import { yuanToFen } from '../cloudfunctions/src/domain/money';
import { buildDeps } from '../cloudfunctions/src/runtime';
import { newSerial, silentLogger, type Deps } from '../cloudfunctions/src/services/deps';
import { runReconcile } from '../cloudfunctions/src/services/reconcile';
import { requestRefund } from '../cloudfunctions/src/services/refunds';
import { deliverWebhook } from '../cloudfunctions/src/services/webhooks';
import { configOverrides, loadDotEnv } from './lib/env-file';
import { readLocalKeys } from './lib/local-keys';
import { DEV_APPID, localStackEnv } from './stack';

type Out = (line: string) => void;

export async function runOps(deps: Deps, argv: string[], out: Out): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'refund-no': { type: 'string' }, reason: { type: 'string' }, limit: { type: 'string' } },
  });
  const [command, ...args] = positionals;
  const json = (value: unknown) => out(JSON.stringify(value, null, 2));
  switch (command) {
    case 'order': {
      const key = args[0];
      if (!key) return usage(out);
      const order = (await deps.store.getOrder(key)) ?? (await deps.store.getOrderByRef(key));
      if (!order) {
        out(`no order with number or ref ${key}`);
        return 1;
      }
      out(`order ${order.orderNo}  ref ${order.appRef}  ${order.status}  ${formatFen(order.amountFen)}  refunded ${formatFen(order.refundedFen)}${order.flag ? `  FLAG ${order.flag}` : ''}`);
      out(`  huifu: req_date ${order.reqDate}  hf_seq_id ${order.hfSeqId ?? '-'}  out_trans_id ${order.outTransId ?? '-'}`);
      for (const e of await deps.store.listOrderEvents(order.orderNo)) out(`  ${new Date(e.at).toISOString()}  ${e.from ?? '-'} → ${e.to ?? '-'}  ${e.source}  ${e.detail}`);
      for (const r of await deps.store.listRefundsByOrder(order.orderNo)) out(`  refund ${r.refundNo}  ${r.status}  ${formatFen(r.amountFen)}${r.failReason ? `  ${r.failReason}` : ''}`);
      for (const n of await deps.store.listNotifications({ reqSeqId: order.orderNo, limit: 20 })) out(`  notification ${n.id.slice(0, 12)}  type ${n.notifyType ?? '-'}  ${n.transStat ?? '-'}  ${n.outcome}`);
      for (const w of await deps.store.listWebhooks({ orderNo: order.orderNo, limit: 20 })) out(`  webhook ${w.id}  ${w.event}  ${w.status}  attempts ${w.attempts}${w.lastError ? `  ${w.lastError}` : ''}`);
      return 0;
    }
    case 'refund': {
      const [orderNo, yuan] = args;
      if (!orderNo || !yuan) return usage(out);
      const refund = await requestRefund(deps, {
        orderNo,
        refundNo: values['refund-no'] ?? newSerial('R', deps.clock.now()),
        amountFen: yuanToFen(yuan),
        reason: values.reason ?? null,
      });
      json(refund);
      return 0;
    }
    case 'replay': {
      const prefix = args[0];
      if (!prefix) return usage(out);
      const match = (await deps.store.listNotifications({ limit: 500 })).filter((n) => n.id.startsWith(prefix) && n.sign);
      if (match.length !== 1) {
        out(match.length ? `${match.length} notifications start with ${prefix}; give more characters` : `no stored, signed notification ${prefix}`);
        return 1;
      }
      const body = new URLSearchParams({ resp_data: match[0]!.respData, sign: match[0]!.sign }).toString();
      const res = await fetch(deps.config.huifu.notifyUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body });
      out(`replayed ${match[0]!.id.slice(0, 12)} to ${deps.config.huifu.notifyUrl}: HTTP ${res.status} ${await res.text()}`);
      return res.status === 200 ? 0 : 1;
    }
    case 'resend-webhook': {
      const hook = args[0] ? await deps.store.getWebhook(args[0]) : null;
      if (!hook) {
        out(`no webhook ${args[0] ?? ''}`);
        return 1;
      }
      const outcome = await deliverWebhook(deps, hook);
      out(`webhook ${hook.id}: ${outcome}`);
      return outcome === 'DELIVERED' ? 0 : 1;
    }
    case 'reconcile':
      json(await runReconcile(deps));
      return 0;
    case 'notifications':
      for (const n of await deps.store.listNotifications({ limit: Number(values.limit ?? 20) })) {
        out(`${new Date(n.receivedAt).toISOString()}  ${n.id.slice(0, 12)}  ${n.kind}  ${n.reqSeqId ?? '-'}  type ${n.notifyType ?? '-'}  ${n.transStat ?? '-'}  ${n.outcome}`);
      }
      return 0;
    default:
      return usage(out);
  }
}

function usage(out: Out): number {
  out('usage: pnpm ops order <order_no|ref> | refund <order_no> <yuan> [--refund-no N] [--reason R] | replay <notification id> | resend-webhook <id> | reconcile | notifications [--limit N]');
  return 2;
}

/** The deployed environment's configuration from .env, or the local stack's from .local/. */
function opsDeps(): Deps {
  if (loadDotEnv()) return buildDeps(loadConfig(process.env), { log: silentLogger });
  const dataDir = process.env.CASHIER_DATA_DIR ?? '.local';
  const keys = readLocalKeys(dataDir);
  const credentials = JSON.parse(readFileSync(join(dataDir, 'sandbox-credentials.json'), 'utf8')) as { baseUrl: string };
  const config = loadConfig({
    ...localStackEnv(keys, {
      appid: process.env.WX_APPID ?? DEV_APPID,
      functionsUrl: `http://127.0.0.1:${process.env.CASHIER_PORT ?? '8787'}`,
      huifuUrl: credentials.baseUrl,
      sqlitePath: join(dataDir, 'cashier.db'),
    }),
    ...configOverrides(),
  });
  return buildDeps(config, { log: silentLogger });
}

if (require.main === module) {
  (async () => {
    const deps = opsDeps();
    const code = await runOps(deps, process.argv.slice(2), (line) => process.stdout.write(line + '\n'));
    await deps.store.close();
    process.exit(code);
  })().catch((error: unknown) => {
    process.stderr.write(`ops: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
