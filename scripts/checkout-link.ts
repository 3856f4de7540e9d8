/**
 * `pnpm checkout:link --amount 0.01 --desc "会员月卡" [--ref APP123] [--ttl 900] [--data .local]`
 * Mints a checkout token as the app's backend would (CHECKOUT_SECRET from .env or the local stack's keys) and
 * prints the mini-program path the native app launches.
 */
import { parseArgs } from 'node:util';
import { checkoutPath, mintCheckoutToken, MAX_DESCRIPTION, REF_PATTERN } from '../cloudfunctions/src/auth/checkout';
import { yuanToFen } from '../cloudfunctions/src/domain/money';
import { loadDotEnv } from './lib/env-file';
import { readLocalKeys } from './lib/local-keys';

function fail(message: string): never {
  process.stderr.write(`checkout:link: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { amount: { type: 'string' }, desc: { type: 'string' }, ref: { type: 'string' }, ttl: { type: 'string' }, data: { type: 'string' } } });
  if (!values.amount || !values.desc) fail('usage: pnpm checkout:link --amount 0.01 --desc "商品描述" [--ref APP123] [--ttl 900]');
  let amountFen: number;
  try {
    amountFen = yuanToFen(values.amount);
  } catch (error) {
    fail((error as Error).message);
  }
  const ref = values.ref ?? `DEMO${Date.now()}`;
  if (!REF_PATTERN.test(ref)) fail('--ref: 1-64 letters, digits, "_" or "-"');
  if (values.desc.length > MAX_DESCRIPTION) fail(`--desc: at most ${MAX_DESCRIPTION} characters`);
  loadDotEnv();
  let secret = process.env.CHECKOUT_SECRET;
  if (!secret) {
    try {
      secret = readLocalKeys(values.data ?? '.local').checkoutSecret;
    } catch {
      fail('no CHECKOUT_SECRET: set it in .env, or run `pnpm dev` once to create the local keys');
    }
  }
  const token = await mintCheckoutToken({ ref, amountFen, description: values.desc, ttlSeconds: values.ttl ? Number(values.ttl) : undefined }, secret, Date.now());
  process.stdout.write(`ref:    ${ref}\namount: ${amountFen} fen\npath:   ${checkoutPath(token)}\n`);
}

void main();
