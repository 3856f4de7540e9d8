import { formatFen, MONEY_TAKEN_STATUSES } from '@cashier/shared';
import { config } from '../../config';
import { copy } from '../../services/copy';
import { fetchOrder, fetchPreview, submitOrder } from '../../services/orders';
import { confirmPayment, currentPayer, nextPayState, realSleep, type PayOutcome, type PayState } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * The app opens this page (scene 1069) with ?t=<checkout token>: silent login, preview, pay, confirm with the server.
 * An existing order for the same ref is resumed (the same order and Huifu trade).
 */
const BUSY: ReadonlyArray<PayState['kind']> = ['creating', 'paying', 'confirming'];
const LABEL: Partial<Record<PayState['kind'], string>> = { creating: copy.creating, paying: copy.paying, confirming: copy.confirming };

Component({
  data: {
    phase: 'loading' as 'loading' | 'ready' | 'error',
    loadingText: copy.loading,
    errorMessage: '',
    checkoutToken: '',
    amountText: '',
    description: '',
    buttonText: copy.pay as string,
    busy: false,
    hint: '',
    pay: { kind: 'idle' } as PayState,
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      // Local mode only: ?payer=wechat makes the page call wx.requestPayment, which automator tests mock.
      if (config.mode === 'local' && query.payer === 'wechat') config.payer = 'wechat';
      const token = query.t ? decodeURIComponent(query.t) : '';
      if (!token) {
        this.setData({ phase: 'error', errorMessage: copy.missingToken });
        return;
      }
      this.setData({ checkoutToken: token });
      return this.loadPreview();
    },

    async loadPreview() {
      const preview = await fetchPreview(this.data.checkoutToken);
      if (!preview.ok) {
        this.setData({ phase: 'error', errorMessage: preview.error.message });
        return;
      }
      const existing = preview.data.existingOrder;
      if (existing && MONEY_TAKEN_STATUSES.includes(existing.status)) {
        this.goToResult(existing.orderNo, 'paid');
        return;
      }
      this.setData({
        phase: 'ready',
        amountText: formatFen(preview.data.amountFen),
        description: preview.data.description,
        buttonText: existing ? copy.continuePay : copy.pay,
      });
    },

    move(next: PayState) {
      this.setData({ pay: next, busy: BUSY.includes(next.kind), buttonText: LABEL[next.kind] ?? (next.kind === 'idle' ? copy.pay : copy.continuePay) });
    },

    async onPay() {
      const start = nextPayState(this.data.pay, { type: 'tap' });
      if (start === this.data.pay) return; // already creating, paying or confirming: a second tap does nothing
      this.move(start);
      const created = await submitOrder(this.data.checkoutToken);
      if (!created.ok) {
        if (created.error.code === 'ORDER_ALREADY_PAID') {
          const preview = await fetchPreview(this.data.checkoutToken);
          if (preview.ok && preview.data.existingOrder) this.goToResult(preview.data.existingOrder.orderNo, 'paid');
          return;
        }
        this.move(nextPayState(this.data.pay, { type: 'createFailed', code: created.error.code }));
        toast(this, created.error.message, 'error');
        return;
      }
      const orderNo = created.data.order.orderNo;
      this.move(nextPayState(this.data.pay, { type: 'created' }));
      const cashier = await currentPayer()(created.data.payment, orderNo);
      this.move(nextPayState(this.data.pay, { type: 'cashierClosed' }));
      const outcome = await confirmPayment(orderNo, cashier, {
        fetchOrder,
        sleep: realSleep,
        now: () => Date.now(),
        intervalMs: config.confirmIntervalMs,
        windowMs: config.confirmWindowMs,
      });
      this.move(nextPayState(this.data.pay, { type: 'settled', outcome }));
      if (outcome === 'cancelled') {
        this.setData({ hint: copy.cancelled });
        toast(this, copy.cancelled);
        return;
      }
      this.goToResult(orderNo, outcome);
    },

    goToResult(orderNo: string, outcome: PayOutcome) {
      wx.redirectTo({ url: `/pages/result/index?orderNo=${encodeURIComponent(orderNo)}&outcome=${outcome}` });
    },
  },
});
