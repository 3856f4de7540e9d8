import { formatFen, MONEY_TAKEN_STATUSES, type ErrorBody } from '@cashier/shared';
import { mode, useWechatPayerLocally } from '../../config';
import { copy } from '../../services/copy';
import { appParameter, canLaunchApp, refOfToken } from '../../services/launch';
import { isGone, markGone } from '../../services/lifetime';
import { fetchPreview, submitOrder } from '../../services/orders';
import { confirmForPage, currentPayer, nextPayState, type PayOutcome, type PayState } from '../../services/payment';
import { ensureSession } from '../../services/session';
import { toast } from '../../services/toast';

/**
 * The app opens this page (scene 1069) with ?t=<checkout token>. The preview and the login run side by side, so the
 * pay button appears after one round trip and a tap reaches the cashier after one more (create). An existing order
 * for the same ref is resumed (the same order and Huifu trade). Every error page offers what can help: a retry when
 * the error is retryable, and 返回App when WeChat allows it.
 */
const BUSY: ReadonlyArray<PayState['kind']> = ['creating', 'paying', 'confirming'];
const LABEL: Partial<Record<PayState['kind'], string>> = { creating: copy.creating, paying: copy.paying, confirming: copy.confirming };

Component({
  data: {
    labels: copy,
    phase: 'loading' as 'loading' | 'ready' | 'error',
    errorMessage: '',
    errorRetryable: false,
    checkoutToken: '',
    ref: '',
    amountText: '',
    description: '',
    buttonText: copy.pay as string,
    busy: false,
    hint: '',
    pay: { kind: 'idle' } as PayState,
    showLaunchApp: false,
    appParameter: appParameter(null, null),
  },
  lifetimes: {
    detached() {
      markGone(this);
    },
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      // Local mode only: ?payer=wechat makes the page call wx.requestPayment, which automator tests mock.
      if (mode() === 'local' && query.payer === 'wechat') useWechatPayerLocally();
      let token = '';
      try {
        token = query.t ? decodeURIComponent(query.t) : '';
      } catch {
        return this.showError({ code: 'CHECKOUT_TOKEN_INVALID', message: copy.invalidLink, retryable: false });
      }
      if (!token) return this.showError({ code: 'CHECKOUT_TOKEN_INVALID', message: copy.missingToken, retryable: false });
      const ref = refOfToken(token) ?? '';
      this.setData({ checkoutToken: token, ref, appParameter: appParameter(ref, null) });
      return this.loadPreview();
    },

    onShow() {
      // The scene can change while the page lives (the user leaves and comes back another way).
      this.setData({ showLaunchApp: canLaunchApp() });
    },

    onUnload() {
      markGone(this);
    },

    showError(error: ErrorBody) {
      this.setData({ phase: 'error', errorMessage: error.message, errorRetryable: error.retryable, showLaunchApp: canLaunchApp() });
    },

    async loadPreview() {
      this.setData({ phase: 'loading' });
      // Logging in meanwhile: the tap then finds the session ready. Its failure, if any, surfaces on the tap.
      void ensureSession();
      const preview = await fetchPreview(this.data.checkoutToken);
      if (isGone(this)) return;
      if (!preview.ok) return this.showError(preview.error);
      const existing = preview.data.existingOrder;
      if (existing && MONEY_TAKEN_STATUSES.includes(existing.status)) return this.goToResult(existing.orderNo, 'paid');
      this.setData({
        phase: 'ready',
        ref: preview.data.ref,
        appParameter: appParameter(preview.data.ref, existing?.status ?? null),
        amountText: formatFen(preview.data.amountFen),
        description: preview.data.description,
        buttonText: existing ? copy.continuePay : copy.pay,
        showLaunchApp: canLaunchApp(),
      });
    },

    onRetry() {
      return this.loadPreview();
    },

    move(next: PayState) {
      this.setData({ pay: next, busy: BUSY.includes(next.kind), buttonText: LABEL[next.kind] ?? (next.kind === 'idle' ? copy.pay : copy.continuePay) });
    },

    async onPay() {
      const start = nextPayState(this.data.pay, { type: 'tap' });
      if (start === this.data.pay) return; // already creating, paying or confirming: a second tap does nothing
      this.move(start);
      this.setData({ hint: '' });
      const created = await submitOrder(this.data.checkoutToken);
      if (isGone(this)) return;
      if (!created.ok) {
        if (created.error.code === 'ORDER_ALREADY_PAID') {
          const preview = await fetchPreview(this.data.checkoutToken, { needSession: true });
          if (isGone(this)) return;
          if (preview.ok && preview.data.existingOrder) return this.goToResult(preview.data.existingOrder.orderNo, 'paid');
          const reason = preview.ok ? created.error : preview.error;
          this.move(nextPayState(this.data.pay, { type: 'createFailed', code: reason.code }));
          toast(this, reason.message, 'error');
          return;
        }
        this.move(nextPayState(this.data.pay, { type: 'createFailed', code: created.error.code }));
        toast(this, created.error.message, 'error');
        return;
      }
      const orderNo = created.data.order.orderNo;
      this.move(nextPayState(this.data.pay, { type: 'created' }));
      const cashier = await currentPayer()(created.data.payment, orderNo);
      if (isGone(this)) return;
      this.move(nextPayState(this.data.pay, { type: 'cashierClosed' }));
      const outcome = await confirmForPage(orderNo, cashier, this);
      if (isGone(this)) return;
      this.move(nextPayState(this.data.pay, { type: 'settled', outcome }));
      if (outcome === 'cancelled' || outcome === 'notPaid') {
        const hint = outcome === 'cancelled' ? copy.cancelled : copy.notPaid;
        this.setData({ hint });
        toast(this, hint);
        return;
      }
      this.goToResult(orderNo, outcome);
    },

    goToResult(orderNo: string, outcome: PayOutcome) {
      wx.redirectTo({ url: `/pages/result/index?orderNo=${encodeURIComponent(orderNo)}&outcome=${outcome}&ref=${encodeURIComponent(this.data.ref)}` });
    },

    onLaunchAppError() {
      toast(this, copy.backToAppFailed);
    },
  },
});
