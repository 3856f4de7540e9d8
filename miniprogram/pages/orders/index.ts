import { formatFen, PAYABLE_STATUSES } from '@cashier/shared';
import type { OrderView } from '@cashier/shared/contracts';
import { config } from '../../config';
import { copy, statusCopy } from '../../services/copy';
import { fetchOrder, fetchOrders, resumeOrderPayment } from '../../services/orders';
import { confirmPayment, currentPayer, realSleep } from '../../services/payment';
import { toast } from '../../services/toast';

/** The user's orders; an unpaid one can be paid again (the same order and Huifu trade) until it expires. */
interface OrderRow {
  orderNo: string;
  description: string;
  amountText: string;
  statusText: string;
  payable: boolean;
  remainingMs: number;
}

function toRow(order: OrderView, now: number): OrderRow {
  const remainingMs = Math.max(order.expiresAt - now, 0);
  return {
    orderNo: order.orderNo,
    description: order.description,
    amountText: formatFen(order.amountFen),
    statusText: remainingMs === 0 && PAYABLE_STATUSES.includes(order.status) ? copy.expired : statusCopy[order.status],
    payable: PAYABLE_STATUSES.includes(order.status) && remainingMs > 0,
    remainingMs,
  };
}

Component({
  data: { labels: copy, loading: true, orders: [] as OrderRow[], busyOrderNo: '' },
  methods: {
    onLoad() {
      return this.load();
    },
    onShow() {
      if (!this.data.loading) return this.load();
      return undefined;
    },
    async load() {
      const answer = await fetchOrders();
      if (!answer.ok) {
        this.setData({ loading: false });
        toast(this, answer.error.message, 'error');
        return;
      }
      const now = Date.now();
      this.setData({ loading: false, orders: answer.data.orders.map((o) => toRow(o, now)) });
    },
    onExpired() {
      return this.load();
    },
    async onContinue(event: WechatMiniprogram.BaseEvent) {
      const orderNo = String(event.currentTarget.dataset.orderNo ?? '');
      if (!orderNo || this.data.busyOrderNo) return;
      this.setData({ busyOrderNo: orderNo });
      const resumed = await resumeOrderPayment(orderNo);
      if (!resumed.ok) {
        this.setData({ busyOrderNo: '' });
        toast(this, resumed.error.message, 'error');
        return this.load();
      }
      const cashier = await currentPayer()(resumed.data.payment, orderNo);
      const outcome = await confirmPayment(orderNo, cashier, { fetchOrder, sleep: realSleep, now: () => Date.now(), intervalMs: config.confirmIntervalMs, windowMs: config.confirmWindowMs });
      this.setData({ busyOrderNo: '' });
      if (outcome === 'cancelled') {
        toast(this, copy.cancelled);
        return this.load();
      }
      wx.navigateTo({ url: `/pages/result/index?orderNo=${encodeURIComponent(orderNo)}&outcome=${outcome}` });
      return undefined;
    },
  },
});
