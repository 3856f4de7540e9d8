import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { HuifuClient, type HuifuClientOptions } from '../../cloudfunctions/src/providers/huifu/client';
import { startHuifuSandbox, type HuifuSandbox, type HuifuSandboxOptions } from '../../scripts/stack/huifu';
import { closeServer, listen, readBody } from '../../scripts/lib/http';

export interface HuifuKeys {
  merchantPrivateKey: KeyObject;
  merchantPublicKey: KeyObject;
  huifuPrivateKey: KeyObject;
  huifuPublicKey: KeyObject;
}

/** Two fresh key pairs: the merchant's and the sandbox's own Huifu identity. */
export function makeHuifuKeys(): HuifuKeys {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const huifu = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { merchantPrivateKey: merchant.privateKey, merchantPublicKey: merchant.publicKey, huifuPrivateKey: huifu.privateKey, huifuPublicKey: huifu.publicKey };
}

export const TEST_IDS = { sysId: '6666000100000001', productId: 'PAYUN', huifuId: '6666000100000001' };

export async function startTestSandbox(keys: HuifuKeys, overrides: Partial<HuifuSandboxOptions> = {}): Promise<HuifuSandbox> {
  return startHuifuSandbox({
    ...TEST_IDS,
    merchantPublicKey: keys.merchantPublicKey,
    huifuPrivateKey: keys.huifuPrivateKey,
    notifyRetryDelayMs: 20,
    notifyTimeoutMs: 2000,
    refundSettleMs: null,
    ...overrides,
  });
}

export function clientFor(sandbox: Pick<HuifuSandbox, 'url'>, keys: HuifuKeys, overrides: Partial<HuifuClientOptions> = {}): HuifuClient {
  return new HuifuClient({
    baseUrl: sandbox.url,
    apiVersion: 'v2',
    ...TEST_IDS,
    merchantPrivateKey: keys.merchantPrivateKey,
    huifuPublicKey: keys.huifuPublicKey,
    timeoutMs: 2000,
    ...overrides,
  });
}

/** A loopback endpoint that records what Huifu posts to notify_url and answers as told. */
export interface NotifyReceiver {
  url: string;
  received: Array<{ contentType: string | undefined; body: string }>;
  /** How to answer each delivery; default: 200 with the exact ack. */
  answer: (body: string) => { status: number; text: string };
  close(): Promise<void>;
}

export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const receiver: NotifyReceiver = {
    url: '',
    received: [],
    answer: (body) => {
      const respData = new URLSearchParams(body).get('resp_data') ?? '{}';
      return { status: 200, text: `RECV_ORD_ID_${(JSON.parse(respData) as { req_seq_id: string }).req_seq_id}` };
    },
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const { text } = await readBody(req);
    receiver.received.push({ contentType: req.headers['content-type'], body: text });
    const { status, text: reply } = receiver.answer(text);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(reply);
  });
  const port = await listen(server, 0);
  receiver.url = `http://127.0.0.1:${port}/notify`;
  receiver.close = () => closeServer(server);
  return receiver;
}
