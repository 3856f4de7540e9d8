/**
 * `pnpm checkout:link --amount 0.01 --desc "会员月卡" [--ref APP123] [--ttl 900] [--env local|production] [--devtools]`
 * Mints a checkout token as the app's backend would and prints the mini-program path the native app launches.
 * The secret is the local stack's (CASHIER_DATA_DIR/keys.json) or, with --env production, CHECKOUT_SECRET from
 * .env.production. --devtools writes a scene-1069 compile condition into project.private.config.json (gitignored), so
 * WeChat DevTools opens the checkout with this token in one click.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkoutPath, MAX_CHECKOUT_LIFETIME_SECONDS, MAX_DESCRIPTION, mintCheckoutToken, REF_PATTERN } from '../cloudfunctions/src/auth/checkout';
import { yuanToFen } from '../cloudfunctions/src/domain/money';
import { environmentVariables } from './lib/env-file';
import { readLocalKeys } from './lib/local-keys';

export const CHECKOUT_LINK_USAGE = `usage: pnpm checkout:link --amount <yuan> --desc <text> [options]
  --amount <yuan>     amount in yuan, e.g. 0.01 or 12.30
  --desc <text>       what is paid for, at most ${MAX_DESCRIPTION} characters (shown on the user's bill)
  --ref <id>          the app's order id, 1-64 of A-Z a-z 0-9 _ - (default DEMO<timestamp>)
  --ttl <seconds>     how long the link stays payable, 60-${MAX_CHECKOUT_LIFETIME_SECONDS} (default 900)
  --env <name>        local (the running stack's keys, default) or production (.env.production)
  --data <folder>     the local stack's data folder (default CASHIER_DATA_DIR or .local)
  --devtools          also write a scene-1069 compile condition for WeChat DevTools (project.private.config.json)
  --expired           mint a link that expired a minute ago (to see how the mini-program handles one)
  --help              this text`;

export class UsageError extends Error {}

export interface LinkOptions {
  amountFen: number;
  description: string;
  ref: string;
  ttlSeconds: number;
  env: 'local' | 'production';
  dataDir: string;
  devtools: boolean;
  expired: boolean;
}

/** Parses and validates the command line; a UsageError says what is wrong in words, never a stack trace. */
export function parseLinkArgs(argv: string[], now: number, env: NodeJS.ProcessEnv = process.env): LinkOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        amount: { type: 'string' },
        desc: { type: 'string' },
        ref: { type: 'string' },
        ttl: { type: 'string' },
        env: { type: 'string' },
        data: { type: 'string' },
        devtools: { type: 'boolean' },
        expired: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/, ''));
  }
  if (values.help) return 'help';
  if (!values.amount) throw new UsageError('--amount is required (yuan, e.g. 0.01)');
  if (!values.desc?.trim()) throw new UsageError('--desc is required (what is paid for)');
  let amountFen: number;
  try {
    amountFen = yuanToFen(values.amount);
  } catch (error) {
    throw new UsageError(`--amount: ${(error as Error).message}`);
  }
  const ref = values.ref ?? `DEMO${now}`;
  if (!REF_PATTERN.test(ref)) throw new UsageError('--ref: 1-64 letters, digits, "_" or "-"');
  if (values.desc.length > MAX_DESCRIPTION) throw new UsageError(`--desc: at most ${MAX_DESCRIPTION} characters, got ${values.desc.length}`);
  let ttlSeconds = 900;
  if (values.ttl !== undefined) {
    if (!/^\d+$/.test(values.ttl)) throw new UsageError(`--ttl must be a whole number of seconds, got "${values.ttl}"`);
    ttlSeconds = Number(values.ttl);
    if (ttlSeconds < 60 || ttlSeconds > MAX_CHECKOUT_LIFETIME_SECONDS) {
      throw new UsageError(`--ttl must be from 60 to ${MAX_CHECKOUT_LIFETIME_SECONDS} seconds (the server refuses links that live longer than 24 h), got ${ttlSeconds}`);
    }
  }
  const envName = values.env ?? 'local';
  if (envName !== 'local' && envName !== 'production') throw new UsageError('--env must be local or production');
  return { amountFen, description: values.desc, ref, ttlSeconds, env: envName, dataDir: values.data ?? env.CASHIER_DATA_DIR ?? '.local', devtools: values.devtools ?? false, expired: values.expired ?? false };
}

function checkoutSecret(options: LinkOptions): string {
  if (options.env === 'production') {
    const secret = environmentVariables('production').variables.CHECKOUT_SECRET;
    if (!secret) throw new UsageError('no CHECKOUT_SECRET in .env.production (or the environment)');
    return secret;
  }
  try {
    return readLocalKeys(options.dataDir).checkoutSecret;
  } catch {
    throw new UsageError(`no local keys in ${options.dataDir}: run \`pnpm dev\` once (it creates them), or pass --data <folder>`);
  }
}

/** Adds (or replaces) a compile condition in DevTools' private project file, keeping everything else in it. */
export function writeDevtoolsCondition(file: string, name: string, query: string): void {
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>) : {};
  const miniprogram = current.condition?.miniprogram ?? {};
  const list = ((miniprogram.list ?? []) as Array<Record<string, unknown>>).filter((item) => item.name !== name);
  list.push({ name, pathName: 'pages/checkout/index', query, launchMode: 'default', scene: 1069 });
  const next = { ...current, condition: { ...(current.condition ?? {}), miniprogram: { ...miniprogram, current: list.length - 1, list } } };
  writeFileSync(file, JSON.stringify(next, null, 2) + '\n');
}

async function main(argv: string[]): Promise<number> {
  const now = Date.now();
  const options = parseLinkArgs(argv, now);
  if (options === 'help') {
    process.stdout.write(CHECKOUT_LINK_USAGE + '\n');
    return 0;
  }
  const issuedAt = options.expired ? now - (options.ttlSeconds + 60) * 1000 : now;
  const token = await mintCheckoutToken({ ref: options.ref, amountFen: options.amountFen, description: options.description, ttlSeconds: options.ttlSeconds }, checkoutSecret(options), issuedAt);
  process.stdout.write(`ref:    ${options.ref}\namount: ${options.amountFen} fen\nexpires: ${new Date(issuedAt + options.ttlSeconds * 1000).toISOString()}\npath:   ${checkoutPath(token)}\n`);
  if (options.devtools) {
    const file = resolve(__dirname, '..', 'project.private.config.json');
    writeDevtoolsCondition(file, '支付 checkout (scene 1069)', `t=${token}`);
    process.stdout.write(`devtools: compile condition "支付 checkout (scene 1069)" written to ${file}\n`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`checkout:link: ${(error as Error).message}\n`);
      if (error instanceof UsageError) process.stderr.write(`${CHECKOUT_LINK_USAGE}\n`);
      process.exitCode = 2;
    },
  );
}
