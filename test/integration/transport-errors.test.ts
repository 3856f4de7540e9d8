/**
 * Transport failures told apart: a request that never left (DNS, refused connection, TLS) is safe to send again and
 * names the base URL variable to check; one that may have arrived (a timeout, a reset once connected) is ambiguous and
 * must be settled by query with the same ids.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintCheckoutToken } from '../../cloudfunctions/src/auth/checkout';
import { HuifuTimeoutError, HuifuUnreachableError } from '../../cloudfunctions/src/providers/huifu/errors';
import { createOrder } from '../../cloudfunctions/src/services/orders';
import { code2Session, WechatLoginError } from '../../cloudfunctions/src/wechat/jscode2session';
import { closeServer, listen } from '../../scripts/lib/http';
import { clientFor, makeHuifuKeys, startTestSandbox } from '../support/huifu';
import { startServices } from '../support/services';
import { describeIf } from '../support/skip';
import { escapeRegExp } from '../support/text';

const keys = makeHuifuKeys();
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => closeServer(s)));
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s, 0);
  await closeServer(s);
  return port;
}
/** Reads the request, then breaks the connection: the request arrived, the answer never comes. */
async function resetAfterRequest(): Promise<string> {
  const s = createServer((req) => {
    req.on('data', () => undefined);
    req.on('end', () => req.socket.destroy());
  });
  servers.push(s);
  return `http://127.0.0.1:${await listen(s, 0)}`;
}
async function neverAnswers(): Promise<string> {
  const s = createServer(() => undefined);
  servers.push(s);
  return `http://127.0.0.1:${await listen(s, 0)}`;
}

async function huifuFailure(baseUrl: string, timeoutMs = 2000): Promise<unknown> {
  const sandbox = await startTestSandbox(keys);
  try {
    return await clientFor(sandbox, keys, { baseUrl, timeoutMs }).queryPayment({ orderNo: 'P00000000001', reqDate: '20261123' }).catch((e: unknown) => e);
  } finally {
    await sandbox.close();
  }
}

describe('Huifu client: not sent vs. maybe sent', () => {
  it.each([
    ['a refused connection', async () => `http://127.0.0.1:${await closedPort()}`, 'ECONNREFUSED'],
    ['a name that does not resolve', async () => 'http://cashier-huifu.invalid:8080', 'ENOTFOUND|EAI_AGAIN'],
  ])('%s: never sent, safe to retry, names HUIFU_API_BASE', async (_what, base, code) => {
    const url = await base();
    const error = await huifuFailure(url);
    expect(error).toBeInstanceOf(HuifuUnreachableError);
    expect(error).toMatchObject({ ambiguous: false, retryable: true });
    expect((error as Error).message).toMatch(new RegExp(`not reached at ${escapeRegExp(url)} \\((${code})`));
    expect((error as Error).message).toMatch(/nothing was sent\. Check HUIFU_API_BASE/);
  });

  it('a connection reset after the request was written is ambiguous: query before trying again', async () => {
    const error = await huifuFailure(await resetAfterRequest());
    expect(error).toBeInstanceOf(HuifuTimeoutError);
    expect(error).toMatchObject({ ambiguous: true });
    expect((error as Error).message).toMatch(/may have been sent .*query by req_seq_id/);
  });

  it('no answer in time is ambiguous', async () => {
    const error = await huifuFailure(await neverAnswers(), 300);
    expect(error).toMatchObject({ ambiguous: true, constructor: HuifuTimeoutError });
    expect((error as Error).message).toMatch(/no answer within 300 ms/);
  });
});

let openssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  openssl = false;
}
describeIf(openssl, 'the openssl command is not installed (it makes the self-signed certificate)', 'TLS failures', () => {
  it('a certificate the client does not trust: refused before the request was written, so never sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cashier-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      let requests = 0;
      const s = createTlsServer({ key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) }, (_req, res) => {
        requests++;
        res.end('{}');
      });
      servers.push(s as unknown as Server);
      const port = await listen(s as unknown as Server, 0);
      const error = await huifuFailure(`https://127.0.0.1:${port}`);
      expect(error).toBeInstanceOf(HuifuUnreachableError);
      expect((error as Error).message).toMatch(/SELF_SIGNED|CERT|TLS/);
      expect(requests).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jscode2session: the same distinction, naming WX_API_BASE', () => {
  const login = (apiBase: string) => code2Session({ apiBase, appid: 'wx0123456789abcdef', secret: 's', timeoutMs: 1000 }, 'code').catch((e: unknown) => e);

  it('a refused connection was never sent', async () => {
    const error = await login(`http://127.0.0.1:${await closedPort()}`);
    expect(error).toBeInstanceOf(WechatLoginError);
    expect((error as Error).message).toMatch(/not reached at .*ECONNREFUSED.*nothing was sent\. Check WX_API_BASE/);
  });

  it('a reset after sending may have used the code: a retry needs a fresh wx.login', async () => {
    expect(((await login(await resetAfterRequest())) as Error).message).toMatch(/the code may have been used/);
  });
});

describe('order create: only a request that may have reached Huifu leaves the order uncertain', () => {
  it.each([
    ['never sent (refused)', async () => `http://127.0.0.1:${await closedPort()}`, []],
    ['maybe sent (reset)', () => resetAfterRequest(), ['CREATE_UNCERTAIN']],
  ] as const)('%s', async (_what, base, flags) => {
    const h = await startServices('sqlite', { env: { HUIFU_API_BASE: await base() } });
    try {
      const deps = { ...h.deps, gateway: clientFor(h.sandbox, keys, { baseUrl: h.deps.config.huifuApi.apiBase, timeoutMs: 1000 }) };
      const token = await mintCheckoutToken({ ref: `T-${Date.now()}`, amountFen: 100, description: 'x' }, 'c'.repeat(40), h.clock.now());
      await expect(createOrder(deps, 'o_user_000001', token)).rejects.toMatchObject({ code: 'PAYMENT_GATEWAY_UNAVAILABLE', retryable: true });
      const [order] = await h.store.listOrdersByOpenid('o_user_000001', { limit: 1 });
      expect(order).toMatchObject({ status: 'CREATED', flags });
    } finally {
      await h.close();
    }
  });
});
