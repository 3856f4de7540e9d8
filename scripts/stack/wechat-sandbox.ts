/**
 * A local stand-in for WeChat's jscode2session. Codes are minted per openid through a control route, are
 * single-use and expire after 5 minutes, and the real error codes come back: 40029 invalid, 40163 used,
 * 45011 rate limited, -1 busy, 40226 a high-risk user. With `devOpenid`, an unknown code (such as the real ones WeChat DevTools produces)
 * logs in as that user, once per code. Loopback only; a development and test tool.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { closeServer, listen, readBody, send } from '../lib/http';

/** The errors jscode2session can be made to answer next (failNext, POST /_sandbox/fail). */
const INJECTED_MESSAGES = { 45011: 'api minute-quota reach limit', [-1]: 'system error', 40029: 'invalid code', 40163: 'code been used', 40226: 'code blocked' } as Record<number, string>;
export type InjectableErrcode = 45011 | -1 | 40029 | 40163 | 40226;
const INJECTABLE: InjectableErrcode[] = [45011, -1, 40029, 40163, 40226];

export interface WechatSandboxOptions {
  port?: number;
  appid: string;
  secret: string;
  /** Map unknown codes to this openid (dev only). */
  devOpenid?: string | null;
  codeTtlMs?: number;
}

export interface WechatSandbox {
  url: string;
  port: number;
  mintCode(openid: string): string;
  /** The next `count` exchanges answer this errcode. */
  failNext(errcode: InjectableErrcode, count?: number): void;
  advanceClock(ms: number): void;
  exchanges: Array<{ at: number; code: string; errcode: number; openid: string | null }>;
  close(): Promise<void>;
}

export async function startWechatSandbox(options: WechatSandboxOptions): Promise<WechatSandbox> {
  const ttl = options.codeTtlMs ?? 5 * 60_000;
  let offset = 0;
  const now = () => Date.now() + offset;
  const codes = new Map<string, { openid: string; issuedAt: number; used: boolean }>();
  const failures: InjectableErrcode[] = [];
  const exchanges: WechatSandbox['exchanges'] = [];

  const mintCode = (openid: string) => {
    const code = `sbx_${randomBytes(12).toString('hex')}`;
    codes.set(code, { openid, issuedAt: now(), used: false });
    return code;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://wechat');
    if (req.method === 'GET' && url.pathname === '/sns/jscode2session') {
      const q = url.searchParams;
      const code = q.get('js_code') ?? '';
      const answer = (body: Record<string, unknown>) => {
        exchanges.push({ at: now(), code, errcode: Number(body.errcode ?? 0), openid: (body.openid as string) ?? null });
        send(res, 200, body);
      };
      if (q.get('appid') !== options.appid) return answer({ errcode: 40013, errmsg: 'invalid appid' });
      if (q.get('secret') !== options.secret) return answer({ errcode: 40125, errmsg: 'invalid appsecret' });
      if (q.get('grant_type') !== 'authorization_code') return answer({ errcode: 40002, errmsg: 'invalid grant_type' });
      if (!code) return answer({ errcode: 41008, errmsg: 'missing code' });
      const injected = failures.shift();
      if (injected !== undefined) return answer({ errcode: injected, errmsg: INJECTED_MESSAGES[injected] });
      let entry = codes.get(code);
      if (!entry && options.devOpenid) {
        entry = { openid: options.devOpenid, issuedAt: now(), used: false };
        codes.set(code, entry);
      }
      if (!entry || now() - entry.issuedAt > ttl) return answer({ errcode: 40029, errmsg: 'invalid code' });
      if (entry.used) return answer({ errcode: 40163, errmsg: 'code been used' });
      entry.used = true;
      return answer({ openid: entry.openid, session_key: randomBytes(16).toString('base64') });
    }
    if (req.method === 'POST' && url.pathname === '/_sandbox/fail') {
      // The next jscode2session answers (count, default 1) are this errcode, whatever the code: for pages' retry paths.
      const { text } = await readBody(req, 1024);
      let body: { errcode?: unknown; count?: unknown };
      try {
        body = JSON.parse(text || '{}') as typeof body;
      } catch {
        return send(res, 400, { error: 'body must be JSON {"errcode": 40163, "count": 1}' });
      }
      const count = body.count === undefined ? 1 : body.count;
      if (!INJECTABLE.includes(body.errcode as InjectableErrcode) || typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 100) {
        return send(res, 400, { error: `errcode: one of ${INJECTABLE.join(', ')}; count: 1-100` });
      }
      for (let i = 0; i < count; i++) failures.push(body.errcode as InjectableErrcode);
      return send(res, 200, { queued: failures.length });
    }
    if (req.method === 'POST' && url.pathname === '/_sandbox/code') {
      const { text } = await readBody(req);
      let openid: unknown;
      try {
        openid = (JSON.parse(text || '{}') as { openid?: unknown }).openid;
      } catch {
        return send(res, 400, { error: 'body must be JSON {"openid": "..."}' });
      }
      if (typeof openid !== 'string' || !/^[A-Za-z0-9_-]{6,64}$/.test(openid)) return send(res, 400, { error: 'openid: 6-64 letters, digits, "_" or "-"' });
      return send(res, 200, { code: mintCode(openid) });
    }
    return send(res, 404, { errcode: 404, errmsg: 'not found' });
  });
  const port = await listen(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    mintCode,
    failNext: (errcode, count = 1) => {
      for (let i = 0; i < count; i++) failures.push(errcode);
    },
    advanceClock: (ms) => {
      offset += ms;
    },
    exchanges,
    close: () => closeServer(server),
  };
}
