import { formatFen } from '@cashier/shared';
import { config } from '../../config';
import { copy } from '../../services/copy';
import { fetchOrder } from '../../services/orders';
import type { CashierResult } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * Local mode only: stands in for WeChat's cashier, which cannot open a sandbox prepay_id. "Pay" and "fail" ask the
 * local Huifu sandbox to settle the trade (it then notifies payNotify as Huifu would); "cancel" does nothing, like
 * closing WeChat's sheet. The result goes back to the opener exactly as wx.requestPayment would report it.
 */
Component({
  data: { labels: copy, orderNo: '', amountText: '', busy: false },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const orderNo = query.orderNo ? decodeURIComponent(query.orderNo) : '';
      this.setData({ orderNo });
      return this.loadAmount();
    },
    async loadAmount() {
      const answer = await fetchOrder(this.data.orderNo);
      if (answer.ok) this.setData({ amountText: formatFen(answer.data.amountFen) });
    },
    finish(result: CashierResult) {
      // Opened by the payment service with an events channel; opened any other way there is nobody to tell.
      const channel = this.getOpenerEventChannel() as Partial<WechatMiniprogram.EventChannel>;
      channel.emit?.('result', { result });
      wx.navigateBack();
    },
    onDecide(event: WechatMiniprogram.BaseEvent) {
      if (config.mode !== 'local' || this.data.busy) return;
      const result = event.currentTarget.dataset.result === 'F' ? 'F' : 'S';
      this.setData({ busy: true });
      wx.request({
        url: `${config.localHuifuSandboxUrl}/_sandbox/pay`,
        method: 'POST',
        data: { req_seq_id: this.data.orderNo, result },
        header: { 'content-type': 'application/json' },
        success: (res) => this.finish(res.statusCode === 200 && result === 'S' ? 'ok' : 'fail'),
        fail: () => {
          this.setData({ busy: false });
          toast(this, '无法连接本地 Huifu 沙箱', 'error');
        },
      });
    },
    onCancel() {
      this.finish('cancel');
    },
  },
});
