import { formatFen } from '@cashier/shared';
import { config, mode } from '../../config';
import { copy } from '../../services/copy';
import { isGone, markGone } from '../../services/lifetime';
import { fetchOrder } from '../../services/orders';
import { SANDBOX_RESULT_EVENT, type CashierResult } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * Local mode only (DevTools with `pnpm dev`): stands in for WeChat's cashier, which cannot open a sandbox prepay_id.
 * "Pay" and "fail" ask the local Huifu sandbox to settle the trade (it then notifies payNotify as Huifu would);
 * "cancel" does nothing, like closing WeChat's sheet. The result goes back to the opener exactly as
 * wx.requestPayment would report it, and leaving the page any other way (the back gesture) reports a cancel. In any
 * other mode the page does nothing and says so: a phone never pays here.
 */
const answered = new WeakSet<object>();

Component({
  data: { labels: copy, orderNo: '', amountText: '', busy: false, available: true },
  lifetimes: {
    detached() {
      this.leave();
    },
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      if (mode() !== 'local') {
        this.setData({ available: false });
        return undefined;
      }
      let orderNo = '';
      try {
        orderNo = query.orderNo ? decodeURIComponent(query.orderNo) : '';
      } catch {
        orderNo = '';
      }
      this.setData({ orderNo });
      return this.loadAmount();
    },
    onUnload() {
      this.leave();
    },
    /** Gone without a decision: the opener hears "cancel", so its page never stays in "paying". */
    leave() {
      if (!isGone(this)) this.answer('cancel');
      markGone(this);
    },
    async loadAmount() {
      const answer = await fetchOrder(this.data.orderNo);
      if (!isGone(this) && answer.ok) this.setData({ amountText: formatFen(answer.data.amountFen) });
    },
    answer(result: CashierResult) {
      if (answered.has(this)) return;
      answered.add(this);
      // Opened by the payment service with an events channel; opened any other way there is nobody to tell.
      const channel = this.getOpenerEventChannel() as Partial<WechatMiniprogram.EventChannel>;
      channel.emit?.(SANDBOX_RESULT_EVENT, { result });
    },
    finish(result: CashierResult) {
      this.answer(result);
      wx.navigateBack();
    },
    onDecide(event: WechatMiniprogram.BaseEvent) {
      if (mode() !== 'local' || this.data.busy) return;
      const result = event.currentTarget.dataset.result === 'F' ? 'F' : 'S';
      this.setData({ busy: true });
      wx.request({
        url: `${config.localHuifuSandboxUrl}/_sandbox/pay`,
        method: 'POST',
        data: { req_seq_id: this.data.orderNo, result },
        header: { 'content-type': 'application/json' },
        success: (res) => this.finish(res.statusCode === 200 && result === 'S' ? 'ok' : 'fail'),
        fail: () => {
          if (isGone(this)) return;
          this.setData({ busy: false });
          toast(this, copy.sandboxUnreachable, 'error');
        },
      });
    },
    onCancel() {
      this.finish('cancel');
    },
  },
});
