/**
 * The console page (Preact). Everything stored came from outside (Huifu, the app backend, anyone who can reach the
 * notify URL), so it is only ever rendered as text, through `T`, which also shows control and bidi characters as
 * visible escapes. Actions are two clicks (the second confirms), then the page reloads what it shows.
 */
import { render, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { formatFen } from '../../../../shared/src/money';
import { escapeControl } from '../../../../cloudfunctions/src/domain/safe-text';

interface Session {
  csrf: string;
  mode: 'local' | 'production';
  target: string;
  allowActions: boolean;
  sandbox: boolean;
  devtools: boolean;
}
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STATUS_LABEL: Record<string, string> = {
  CREATED: '已创建', PAYING: '待支付', PAID: '已支付', FAILED: '支付失败', CLOSED: '已关闭',
  PAID_AFTER_CLOSE: '关单后到账', PARTIALLY_REFUNDED: '部分退款', REFUNDED: '已退款',
};
const TIME = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const time = (ms: number | null | undefined) => (ms ? TIME.format(new Date(ms)) : '—');
const yuan = (fen: number) => formatFen(fen);
const REFRESH_MS = 2000;

/** Outside text, as text. */
function T({ v }: { v: unknown }) {
  return <>{v === null || v === undefined || v === '' ? '—' : escapeControl(String(v))}</>;
}

async function getJson(path: string): Promise<Json> {
  const res = await fetch(`/console/api${path}`, { credentials: 'same-origin' });
  const body = (await res.json()) as Json;
  if (!res.ok) throw new Error(String(body.error ?? res.status));
  return body;
}

let session: Session | null = null;
async function act(name: string, body: Json): Promise<Json> {
  const res = await fetch(`/console/api/actions/${name}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-console-csrf': session!.csrf },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Json;
  if (!res.ok || !answer.ok) throw new Error(String(answer.error ?? res.status));
  return answer.result as Json;
}

/**
 * Polls `load` every 2 s while the view is shown; `reload` asks now. Data loaded for other `deps` (the previous order,
 * the previous filter) is never returned: an action taken on it would act on what the page no longer names.
 */
function usePolling<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: string | null; reload: () => void } {
  const key = JSON.stringify(deps);
  const [loaded, setLoaded] = useState<{ key: string; data: T | null; error: string | null }>({ key, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    const run = () =>
      load().then(
        (data) => live && setLoaded({ key, data, error: null }),
        (e: Error) => live && setLoaded((prev) => ({ key, data: prev.key === key ? prev.data : null, error: e.message })),
      );
    void run();
    const timer = setInterval(run, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [key, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  const current = loaded.key === key ? loaded : { data: null, error: null };
  return { data: current.data, error: current.error, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/** A button that asks once more before it acts, then shows what happened. */
function ActionButton(props: { label: string; confirm: string; run: () => Promise<Json>; done?: (r: Json) => void; id?: string; disabled?: boolean }) {
  const [stage, setStage] = useState<'idle' | 'confirm' | 'busy'>('idle');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  if (!session?.allowActions) return <button id={props.id} class="action" disabled title="只读控制台：以 --allow-actions 启动才能操作">{props.label}</button>;
  const go = async () => {
    setStage('busy');
    try {
      const result = await props.run();
      setMessage({ ok: true, text: typeof result?.outcome === 'string' ? `已完成：${result.outcome}` : '已完成' });
      props.done?.(result);
    } catch (e) {
      setMessage({ ok: false, text: (e as Error).message });
    }
    setStage('idle');
  };
  return (
    <span class="action-wrap">
      {stage === 'confirm' ? (
        <span class="confirm">
          <T v={props.confirm} />
          <button id={props.id ? `${props.id}-confirm` : undefined} class="danger" onClick={go}>确认</button>
          <button onClick={() => setStage('idle')}>取消</button>
        </span>
      ) : (
        <button id={props.id} class="action" disabled={stage === 'busy' || props.disabled} onClick={() => (setMessage(null), setStage('confirm'))}>{props.label}</button>
      )}
      {message && <span class={message.ok ? 'ok' : 'err'} role="status"><T v={message.text} /></span>}
    </span>
  );
}

function Status({ s }: { s: string }) {
  return <span class={`status s-${s}`}>{STATUS_LABEL[s] ?? s}</span>;
}

function Orders() {
  const [status, setStatus] = useState('');
  const [flag, setFlag] = useState('');
  const [q, setQ] = useState('');
  const [pages, setPages] = useState<string[]>([]); // cursors of the pages before this one
  const before = pages[pages.length - 1] ?? '';
  const query = new URLSearchParams({ ...(status && { status }), ...(flag && { flag }), ...(q && { q }), ...(before && { before }) }).toString();
  const { data, error } = usePolling(() => getJson(`/orders?${query}`), [query]);
  return (
    <section>
      <h2>订单</h2>
      <div class="filters">
        <select id="status-filter" value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setPages([]))}>
          <option value="">全部状态</option>
          {Object.entries(STATUS_LABEL).map(([k, v]) => <option value={k}>{v}（{k}）</option>)}
        </select>
        <input id="flag-filter" placeholder="标记，如 AMOUNT_MISMATCH" value={flag} onChange={(e) => (setFlag((e.target as HTMLInputElement).value.trim().toUpperCase()), setPages([]))} />
        <input id="search" placeholder="订单号或 ref" value={q} onChange={(e) => (setQ((e.target as HTMLInputElement).value.trim()), setPages([]))} />
      </div>
      {error && <p class="err"><T v={error} /></p>}
      <table id="orders">
        <thead><tr><th>订单号</th><th>ref</th><th>状态</th><th>金额</th><th>已退款</th><th>标记</th><th>创建时间（北京）</th></tr></thead>
        <tbody>
          {(data?.orders ?? []).map((o: Json) => (
            <tr data-order-no={o.orderNo}>
              <td><a href={`#/orders/${encodeURIComponent(o.orderNo)}`}><T v={o.orderNo} /></a></td>
              <td><T v={o.ref} /></td>
              <td><Status s={o.status} /></td>
              <td class="num">{yuan(o.amountFen)}</td>
              <td class="num">{o.refundedFen ? yuan(o.refundedFen) : '—'}</td>
              <td>{o.flags.map((f: string) => <span class="flag"><T v={f} /></span>)}</td>
              <td>{time(o.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.orders.length === 0 && <p class="muted">没有订单</p>}
      <div class="pager">
        <button disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>上一页</button>
        <button id="next-page" disabled={!data?.next} onClick={() => setPages([...pages, data!.next])}>下一页</button>
      </div>
    </section>
  );
}

interface TimelineEntry {
  at: number;
  kind: string;
  node: ComponentChildren;
}

function OrderPage({ orderNo }: { orderNo: string }) {
  const { data, error, reload } = usePolling(() => getJson(`/orders/${encodeURIComponent(orderNo)}`), [orderNo]);
  const [refundYuan, setRefundYuan] = useState('');
  const [refundNo, setRefundNo] = useState('');
  if (error && !data) return <p class="err"><T v={error} /></p>;
  if (!data) return <p class="muted">加载中…</p>;
  const o = data.order as Json;
  const entries: TimelineEntry[] = [
    ...data.events.map((e: Json) => ({ at: e.at, kind: 'event', node: <><b>状态</b> {e.from ?? '∅'} → {e.to ?? '∅'} <span class="muted">[{e.source}]</span> <T v={e.detail} /></> })),
    ...data.notifications.map((n: Json) => ({
      at: n.receivedAt,
      kind: 'notification',
      node: (
        <>
          <b>汇付通知</b> notify_type {n.notifyType ?? '—'} · trans_stat <T v={n.transStat} /> · 结果 <span class={`outcome o-${String(n.outcome).split(':')[0]}`}><T v={n.outcome} /></span>
          <span class="muted"> · {String(n.id).slice(0, 12)}</span>{' '}
          <ActionButton id={`replay-${String(n.id).slice(0, 12)}`} label="重放" confirm="把这条通知再发一次给 payNotify？" run={() => act('replay', { notificationId: n.id })} done={reload} />
        </>
      ),
    })),
    ...data.refunds.map((r: Json) => ({ at: r.createdAt, kind: 'refund', node: <><b>退款</b> <T v={r.refundNo} /> {yuan(r.amountFen)} · {r.status}{r.failReason && <> · <T v={r.failReason} /></>}</> })),
    ...data.webhooks.map((w: Json) => ({
      at: w.createdAt,
      kind: 'webhook',
      node: (
        <>
          <b>Webhook</b> <T v={w.event} /> · {w.status} · 尝试 {w.attempts} 次{w.status === 'PENDING' && <> · 下次 {time(w.nextAttemptAt)}</>}
          {w.lastError && <> · 最近错误 <T v={w.lastError} /></>}{' '}
          <ActionButton id={`resend-${w.id}`} label="重发" confirm="现在投递这个 webhook？" run={() => act('resend-webhook', { id: w.id })} done={reload} />
        </>
      ),
    })),
  ].sort((a, b) => a.at - b.at);
  const refundable = o.amountFen - o.refundedFen - o.refundReservedFen;
  return (
    <section>
      <p><a href="#/orders">← 订单</a></p>
      <h2>订单 <T v={o.orderNo} /> <Status s={o.status} /></h2>
      <dl class="summary">
        <dt>ref</dt><dd><T v={o.ref} /></dd>
        <dt>金额</dt><dd>{yuan(o.amountFen)}（已退 {yuan(o.refundedFen)}，预留 {yuan(o.refundReservedFen)}）</dd>
        <dt>描述</dt><dd><T v={o.description} /></dd>
        <dt>汇付</dt><dd>req_date <T v={o.reqDate} /> · hf_seq_id <T v={o.hfSeqId} /> · out_trans_id <T v={o.outTransId} /></dd>
        <dt>关单</dt><dd>{o.closeRequest ? <><T v={o.closeRequest.reqSeqId} /> {o.closeRequest.state}</> : '—'}{o.cancelRequestedAt ? ` · 用户取消于 ${time(o.cancelRequestedAt)}` : ''}</dd>
        <dt>标记</dt><dd>{o.flags.length ? o.flags.map((f: string) => <span class="flag"><T v={f} /></span>) : '—'}</dd>
        <dt>创建 / 过期</dt><dd>{time(o.createdAt)} / {time(o.expiresAt)}</dd>
        {data.sandboxTrade && <><dt>沙箱交易</dt><dd id="sandbox-trade">{data.sandboxTrade.state}{data.sandboxTrade.closed ? '（已关单）' : ''}</dd></>}
      </dl>
      <div class="actions">
        {session?.sandbox && data.sandboxTrade?.state === 'P' && (
          <>
            <ActionButton id="sandbox-pay-S" label="沙箱：支付成功" confirm="在汇付沙箱把这笔交易结算为成功？" run={() => act('sandbox-pay', { orderNo: o.orderNo, result: 'S' })} done={reload} />
            <ActionButton id="sandbox-pay-F" label="沙箱：支付失败" confirm="在汇付沙箱把这笔交易结算为失败？" run={() => act('sandbox-pay', { orderNo: o.orderNo, result: 'F' })} done={reload} />
          </>
        )}
        {['PAID', 'PARTIALLY_REFUNDED', 'PAID_AFTER_CLOSE'].includes(o.status) && (
          <span class="refund">
            <input id="refund-yuan" placeholder={`金额（元），最多 ${(refundable / 100).toFixed(2)}`} value={refundYuan} onInput={(e) => setRefundYuan((e.target as HTMLInputElement).value.trim())} />
            <input id="refund-no" placeholder="退款单号（留空自动生成）" value={refundNo} onInput={(e) => setRefundNo((e.target as HTMLInputElement).value.trim())} />
            <ActionButton id="refund" label="退款" confirm={`退款 ¥${refundYuan || '?'}？`} disabled={!refundYuan} run={() => act('refund', { orderNo: o.orderNo, yuan: refundYuan, ...(refundNo && { refundNo }) })} done={() => (setRefundYuan(''), setRefundNo(''), reload())} />
          </span>
        )}
      </div>
      <h3>时间线</h3>
      <ol id="timeline" class="timeline">
        {entries.map((e) => <li class={`t-${e.kind}`}><span class="when">{time(e.at)}</span> {e.node}</li>)}
      </ol>
    </section>
  );
}

function Inbox() {
  const { data, error } = usePolling(() => getJson('/inbox'), []);
  return (
    <section>
      <h2>收件箱：汇付通知</h2>
      {error && <p class="err"><T v={error} /></p>}
      <h3>验签前被拒（按原因计数，保留最近样本）</h3>
      <table id="rejections">
        <thead><tr><th>小时（北京）</th><th>原因</th><th>次数</th></tr></thead>
        <tbody>{(data?.rejections.counts ?? []).map((c: Json) => <tr><td>{time(c.hour)}</td><td><T v={c.reason} /></td><td class="num">{c.count}</td></tr>)}</tbody>
      </table>
      <ul id="samples" class="samples">{(data?.rejections.samples ?? []).map((x: Json) => <li><span class="when">{time(x.at)}</span> <T v={x.reason} /> <code><T v={String(x.sample).slice(0, 300)} /></code></li>)}</ul>
      <h3>最近的已验签通知</h3>
      <table id="notifications">
        <thead><tr><th>收到（北京）</th><th>req_seq_id</th><th>类型</th><th>trans_stat</th><th>结果</th></tr></thead>
        <tbody>
          {(data?.notifications ?? []).map((n: Json) => (
            <tr><td>{time(n.receivedAt)}</td><td><T v={n.reqSeqId} /></td><td>{n.kind} {n.notifyType ?? ''}</td><td><T v={n.transStat} /></td><td><T v={n.outcome} /></td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Outbox() {
  const { data, error, reload } = usePolling(() => getJson('/outbox'), []);
  const rows = [...(data?.dead ?? []), ...(data?.failing ?? [])];
  return (
    <section>
      <h2>发件箱：失败与放弃的 Webhook</h2>
      {error && <p class="err"><T v={error} /></p>}
      {rows.length === 0 && <p class="muted">没有失败的 webhook</p>}
      <table id="webhooks">
        <thead><tr><th>id</th><th>事件</th><th>订单</th><th>状态</th><th>尝试</th><th>下次</th><th>最近错误</th><th></th></tr></thead>
        <tbody>
          {rows.map((w: Json) => (
            <tr data-webhook-id={w.id}>
              <td><T v={w.id} /></td><td><T v={w.event} /></td><td><a href={`#/orders/${encodeURIComponent(w.orderNo)}`}><T v={w.orderNo} /></a></td>
              <td>{w.status}</td><td class="num">{w.attempts}</td><td>{w.status === 'PENDING' ? time(w.nextAttemptAt) : '—'}</td><td><T v={w.lastError} /></td>
              <td><ActionButton id={`resend-${w.id}`} label="重发" confirm="现在投递？" run={() => act('resend-webhook', { id: w.id })} done={reload} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Checkout() {
  const [form, setForm] = useState({ yuan: '0.01', description: '测试商品', ref: '', ttlSeconds: '900', devtools: false });
  const [minted, setMinted] = useState<Json | null>(null);
  const [copied, setCopied] = useState(false);
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  return (
    <section>
      <h2>支付链接</h2>
      <div class="form">
        <label>金额（元）<input id="link-yuan" value={form.yuan} onInput={field('yuan')} /></label>
        <label>描述<input id="link-desc" value={form.description} onInput={field('description')} /></label>
        <label>ref（留空自动生成）<input id="link-ref" value={form.ref} onInput={field('ref')} /></label>
        <label>有效期（秒）<input id="link-ttl" value={form.ttlSeconds} onInput={field('ttlSeconds')} /></label>
        {session?.devtools && <label><input id="link-devtools" type="checkbox" checked={form.devtools} onChange={(e) => setForm({ ...form, devtools: (e.target as HTMLInputElement).checked })} /> 写入开发者工具编译条件（场景 1069）</label>}
        <ActionButton id="mint" label="生成" confirm="生成支付链接？" run={() => act('checkout-link', { yuan: form.yuan, description: form.description, ...(form.ref && { ref: form.ref }), ttlSeconds: Number(form.ttlSeconds), devtools: form.devtools })} done={(r) => (setMinted(r), setCopied(false))} />
      </div>
      {minted && (
        <div id="minted" class="minted">
          <p>ref <T v={minted.ref} /> · {yuan(minted.amountFen)} · 过期 {time(minted.expiresAt)}{minted.devtools && ' · 已写入开发者工具编译条件'}</p>
          <code id="minted-path"><T v={minted.path} /></code>
          <button onClick={() => navigator.clipboard?.writeText(minted.path).then(() => setCopied(true))}>{copied ? '已复制' : '复制'}</button>
        </div>
      )}
    </section>
  );
}

function useRoute(): string {
  const [route, setRoute] = useState(location.hash || '#/orders');
  useEffect(() => {
    const on = () => setRoute(location.hash || '#/orders');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  const [ready, setReady] = useState<Session | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const route = useRoute();
  useEffect(() => {
    getJson('/session').then((s) => ((session = s as Session), setReady(session)), (e: Error) => setFailure(e.message));
  }, []);
  if (failure) return <p class="err"><T v={failure} /></p>;
  if (!ready) return <p class="muted">加载中…</p>;
  const orderMatch = /^#\/orders\/(.+)$/.exec(route);
  return (
    <>
      <header>
        <h1>收银台控制台</h1>
        <span class={`badge ${ready.mode}`}>{ready.mode === 'local' ? '本地' : '生产'}</span>
        {!ready.allowActions && <span id="read-only" class="badge readonly">只读</span>}
        <span class="target"><T v={ready.target} /></span>
        <ActionButton id="reconcile" label="立即对账" confirm="现在运行一次对账（查单、关单、退款跟进、投递 webhook）？" run={() => act('reconcile', {})} />
      </header>
      <nav>
        <a href="#/orders" class={route.startsWith('#/orders') ? 'on' : ''}>订单</a>
        <a href="#/inbox" class={route === '#/inbox' ? 'on' : ''}>收件箱</a>
        <a href="#/outbox" class={route === '#/outbox' ? 'on' : ''}>发件箱</a>
        <a href="#/checkout" class={route === '#/checkout' ? 'on' : ''}>支付链接</a>
        {ready.sandbox && <SandboxNotify />}
      </nav>
      <main>
        {orderMatch ? <OrderPage key={orderMatch[1]} orderNo={decodeURIComponent(orderMatch[1]!)} /> : route === '#/inbox' ? <Inbox /> : route === '#/outbox' ? <Outbox /> : route === '#/checkout' ? <Checkout /> : <Orders />}
      </main>
    </>
  );
}

/** Local only: shape the sandbox's next notification. */
function SandboxNotify() {
  return (
    <span class="sandbox-tools">
      沙箱下一条通知：
      <ActionButton id="notify-drop" label="丢弃" confirm="丢弃下一条通知？" run={() => act('notify-mode', { mode: 'drop', count: 1 })} />
      <ActionButton id="notify-duplicate" label="重复" confirm="下一条通知发两次？" run={() => act('notify-mode', { mode: 'duplicate', count: 1 })} />
    </span>
  );
}

render(<App />, document.getElementById('app')!);
