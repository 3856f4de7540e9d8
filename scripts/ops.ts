/**
 * `pnpm ops [--env local|production] <command>`: operations on the running local stack (default: the one recorded in
 * CASHIER_DATA_DIR/stack.json) or, with `--env production`, on the deployed environment described by .env.production.
 * It says which environment and store it acts on before it acts (on stderr, so stdout stays clean for pipes).
 *   order <order_no|ref>                 the order, its history, refunds, notifications and webhooks
 *   refund <order_no> <yuan> [--refund-no N] [--reason R]
 *   replay <notification id (prefix)>    posts a stored Huifu notification to payNotify again
 *   resend-webhook <webhook id>          delivers an app webhook now (also DEAD ones)
 *   reconcile                            runs reconcile once
 *   notifications [--limit N]            the latest notifications in the inbox (verified ones, kept in full)
 *   rejections                           junk refused before verification: counts per reason and hour, last samples
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatFen } from '@cashier/shared';
import { loadConfig } from '../cloudfunctions/src/config';
import { escapeControl } from '../cloudfunctions/src/domain/safe-text';
import { buildDeps } from '../cloudfunctions/src/runtime';
import { silentLogger, type Deps } from '../cloudfunctions/src/services/deps';
import { environmentVariables, type EnvironmentName } from './lib/env-file';
import { readLocalKeys } from './lib/local-keys';
import { OperationError, orderTimeline, reconcileNow, refundOrder, replayNotification, resendWebhook } from './lib/operations';
import { findRunningStack } from './lib/stack-state';
import { localStackEnv } from './stack/env';

type Out = (line: string) => void;

/** Stored text came from outside (Huifu, the app backend, attackers): never print it raw to a terminal. */
const safe = (text: string | null | undefined) => escapeControl(text ?? '-');

export const OPS_USAGE =
  'usage: pnpm ops [--env local|production] order <order_no|ref> | refund <order_no> <yuan> [--refund-no N] [--reason R] | replay <notification id> | resend-webhook <id> | reconcile | notifications [--limit N] | rejections';

export async function runOps(deps: Deps, argv: string[], out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { 'refund-no': { type: 'string' }, reason: { type: 'string' }, limit: { type: 'string' }, env: { type: 'string' } },
    });
  } catch (error) {
    out(`ops: ${(error as Error).message}`);
    return usage(out);
  }
  const { positionals, values } = parsed;
  const [command, ...args] = positionals;
  const json = (value: unknown) => out(JSON.stringify(value, null, 2).split('\n').map(escapeControl).join('\n'));
  try {
    return await runCommand(deps, command, args, values, out, json);
  } catch (error) {
    if (!(error instanceof OperationError)) throw error;
    out(safe(error.message));
    return 1;
  }
}

async function runCommand(deps: Deps, command: string | undefined, args: string[], values: { 'refund-no'?: string; reason?: string; limit?: string }, out: Out, json: (value: unknown) => void): Promise<number> {
  switch (command) {
    case 'order': {
      const key = args[0];
      if (!key) return usage(out);
      const timeline = await orderTimeline(deps, key);
      if (!timeline) {
        out(`no order with number or ref ${safe(key)}`);
        return 1;
      }
      const { order } = timeline;
      out(`order ${order.orderNo}  ref ${safe(order.appRef)}  ${order.status}  ${formatFen(order.amountFen)}  refunded ${formatFen(order.refundedFen)}${order.flags.length ? `  FLAGS ${order.flags.map(safe).join(',')}` : ''}${order.cancelRequestedAt ? '  CANCEL REQUESTED' : ''}`);
      out(`  huifu: req_date ${order.reqDate}  hf_seq_id ${safe(order.hfSeqId)}  out_trans_id ${safe(order.outTransId)}${order.closeRequest ? `  close ${order.closeRequest.reqSeqId} ${order.closeRequest.state}` : ''}`);
      for (const e of timeline.events) out(`  ${new Date(e.at).toISOString()}  ${e.from ?? '-'} → ${e.to ?? '-'}  ${e.source}  ${safe(e.detail)}`);
      for (const r of timeline.refunds) out(`  refund ${safe(r.refundNo)}  ${r.status}  ${formatFen(r.amountFen)}${r.failReason ? `  ${safe(r.failReason)}` : ''}`);
      for (const n of timeline.notifications) out(`  notification ${n.id.slice(0, 12)}  type ${n.notifyType ?? '-'}  ${safe(n.transStat)}  ${safe(n.outcome)}`);
      for (const w of timeline.webhooks) out(`  webhook ${w.id}  ${w.event}  ${w.status}  attempts ${w.attempts}${w.lastError ? `  ${safe(w.lastError)}` : ''}`);
      return 0;
    }
    case 'refund': {
      const [orderNo, yuan] = args;
      if (!orderNo || !yuan) return usage(out);
      json(await refundOrder(deps, { orderNo, yuan, refundNo: values['refund-no'], reason: values.reason }));
      return 0;
    }
    case 'replay': {
      const prefix = args[0];
      if (!prefix) return usage(out);
      const replayed = await replayNotification(deps, prefix);
      out(`replayed ${replayed.id.slice(0, 12)} to ${replayed.url}: HTTP ${replayed.status} ${safe(replayed.text)} (${safe(replayed.outcome)})`);
      return replayed.status === 200 ? 0 : 1;
    }
    case 'resend-webhook': {
      if (!args[0]) return usage(out);
      const { outcome, webhook } = await resendWebhook(deps, args[0]);
      out(`webhook ${safe(args[0])}: ${outcome}${webhook?.lastError ? ` (${safe(webhook.lastError)})` : ''}`);
      return outcome === 'DELIVERED' ? 0 : 1;
    }
    case 'reconcile':
      json(await reconcileNow(deps));
      return 0;
    case 'notifications': {
      const limit = Number(values.limit ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        out('ops: --limit must be a whole number from 1 to 500');
        return 2;
      }
      for (const n of await deps.store.listNotifications({ limit })) {
        out(`${new Date(n.receivedAt).toISOString()}  ${n.id.slice(0, 12)}  ${n.kind}  ${safe(n.reqSeqId)}  type ${n.notifyType ?? '-'}  ${safe(n.transStat)}  ${safe(n.outcome)}`);
      }
      return 0;
    }
    case 'rejections': {
      const { counts, samples } = await deps.store.listRejections();
      if (!counts.length) out('no notifications were refused before verification');
      for (const c of counts) out(`${new Date(c.hour).toISOString().slice(0, 13)}:00Z  ${c.reason}  ${c.count}`);
      for (const x of samples) out(`sample ${new Date(x.at).toISOString()}  ${x.reason}  ${safe(x.sample.slice(0, 200))}`);
      return 0;
    }
    default:
      return usage(out);
  }
}

function usage(out: Out): number {
  out(OPS_USAGE);
  return 2;
}

/** The deps for the chosen environment, and a line saying what they act on. */
export function opsDeps(environment: EnvironmentName, dataDir = process.env.CASHIER_DATA_DIR ?? '.local'): { deps: Deps; target: string } {
  if (environment === 'production') {
    const { file, variables } = environmentVariables('production');
    if (!file) throw new Error('--env production reads .env.production, which does not exist: copy .env.example to .env.production and fill it in');
    const config = loadConfig(variables);
    const store = config.store.kind === 'cloudbase' ? `CloudBase environment ${config.store.env}` : `SQLite ${config.store.path}`;
    return { deps: buildDeps(config, { log: silentLogger }), target: `environment production (${file}), store ${store}, Huifu ${config.huifuApi.apiBase}` };
  }
  const running = findRunningStack(dataDir);
  if (!running.running) throw new Error(running.reason);
  const { state } = running;
  const keys = readLocalKeys(dataDir);
  const env = localStackEnv(keys, { functionsUrl: state.functionsUrl, sqlitePath: state.sqlitePath, huifuUrl: state.huifuUrl, wechatUrl: state.wechatUrl }, environmentVariables('local').variables);
  const config = loadConfig(env);
  return {
    deps: buildDeps(config, { log: silentLogger }),
    target: `environment local (stack pid ${state.pid}, functions ${state.functionsUrl}), store SQLite ${join(state.sqlitePath)}`,
  };
}

if (require.main === module) {
  (async () => {
    const argv = process.argv.slice(2);
    const envIndex = argv.findIndex((a) => a === '--env' || a.startsWith('--env='));
    const envValue = envIndex < 0 ? 'local' : argv[envIndex]!.includes('=') ? argv[envIndex]!.split('=')[1] : argv[envIndex + 1];
    if (envValue !== 'local' && envValue !== 'production') {
      process.stderr.write(`ops: --env must be local or production\n${OPS_USAGE}\n`);
      return 2;
    }
    const rest = envIndex < 0 ? argv : argv.filter((_, i) => i !== envIndex && !(i === envIndex + 1 && !argv[envIndex]!.includes('=')));
    if (rest.length === 0 || rest[0] === '--help' || rest[0] === 'help') {
      process.stdout.write(OPS_USAGE + '\n');
      return rest.length === 0 ? 2 : 0;
    }
    const { deps, target } = opsDeps(envValue);
    process.stderr.write(`ops: acting on ${target}\n`);
    try {
      return await runOps(deps, rest, (line) => process.stdout.write(line + '\n'));
    } finally {
      await deps.store.close();
    }
  })().then(
    // Exit by exit code, not process.exit: a piped stdout still has to drain.
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ops: ${(error as Error).message.split('\n').map(escapeControl).join('\n')}\n`);
      process.exitCode = 1;
    },
  );
}
