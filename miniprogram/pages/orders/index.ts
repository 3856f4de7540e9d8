import { formatFen, PAYABLE_STATUSES } from '@cashier/shared';
import type { OrderView } from '@cashier/shared/contracts';
import { copy, statusCopy } from '../../services/copy';
import { isGone, markGone } from '../../services/lifetime';
import { fetchOrders, resumeOrderPayment } from '../../services/orders';
import { confirmForPage, currentPayer } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * The user's orders, newest first, page by page (the API's cursor), with pull-down refresh; an unpaid one can be
 * paid again (the same order and Huifu trade) until it expires. A failure to load is an error state with a retry,
 * never an empty list.
 */
interface OrderRow {
  orderNo: string;
  description: string;
  amountText: string;
  statusText: string;
  payable: boolean;
  remainingMs: number;
  /** Orders can wait up to 120 minutes: hours are shown when there are any. */
  countdownFormat: string;
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
    countdownFormat: remainingMs >= 3_600_000 ? 'HH:mm:ss' : 'mm:ss',
  };
}

Component({
  data: {
    labels: copy,
    phase: 'loading' as 'loading' | 'ready' | 'error',
    errorMessage: '',
    orders: [] as OrderRow[],
    nextCursor: null as string | null,
    loadingMore: false,
    busyOrderNo: '',
  },
  lifetimes: {
    detached() {
      markGone(this);
    },
  },
  methods: {
    onLoad() {
      return this.load();
    },
    onShow() {
      if (this.data.phase === 'ready' && !this.data.busyOrderNo) return this.load();
      return undefined;
    },
    onUnload() {
      markGone(this);
    },
    async onPullDownRefresh() {
      await this.load();
      wx.stopPullDownRefresh();
    },
    onReachBottom() {
      return this.loadMore();
    },
    onRetry() {
      this.setData({ phase: 'loading' });
      return this.load();
    },

    /** The first page again (after a payment, a refresh, a retry). */
    async load() {
      const answer = await fetchOrders();
      if (isGone(this)) return;
      if (!answer.ok) {
        // Keep what is shown if there is something; otherwise the error state says what happened and offers a retry.
        if (this.data.phase === 'ready') toast(this, answer.error.message, 'error');
        else this.setData({ phase: 'error', errorMessage: answer.error.message });
        return;
      }
      const now = Date.now();
      this.setData({ phase: 'ready', orders: answer.data.orders.map((o) => toRow(o, now)), nextCursor: answer.data.nextCursor });
    },

    async loadMore() {
      if (!this.data.nextCursor || this.data.loadingMore) return;
      this.setData({ loadingMore: true });
      const answer = await fetchOrders(this.data.nextCursor);
      if (isGone(this)) return;
      this.setData({ loadingMore: false });
      if (!answer.ok) {
        toast(this, answer.error.message, 'error');
        return;
      }
      const now = Date.now();
      const seen = new Set(this.data.orders.map((o) => o.orderNo));
      const more = answer.data.orders.filter((o) => !seen.has(o.orderNo)).map((o) => toRow(o, now));
      this.setData({ orders: [...this.data.orders, ...more], nextCursor: answer.data.nextCursor });
    },

    onExpired() {
      return this.load();
    },

    async onContinue(event: WechatMiniprogram.BaseEvent) {
      const orderNo = String(event.currentTarget.dataset.orderNo ?? '');
      if (!orderNo || this.data.busyOrderNo) return;
      this.setData({ busyOrderNo: orderNo });
      const resumed = await resumeOrderPayment(orderNo);
      if (isGone(this)) return;
      if (!resumed.ok) {
        this.setData({ busyOrderNo: '' });
        toast(this, resumed.error.message, 'error');
        return this.load();
      }
      const cashier = await currentPayer()(resumed.data.payment, orderNo);
      if (isGone(this)) return;
      const outcome = await confirmForPage(orderNo, cashier, this);
      if (isGone(this)) return;
      this.setData({ busyOrderNo: '' });
      if (outcome === 'cancelled' || outcome === 'notPaid') {
        toast(this, outcome === 'cancelled' ? copy.cancelled : copy.notPaid);
        return this.load();
      }
      wx.navigateTo({ url: `/pages/result/index?orderNo=${encodeURIComponent(orderNo)}&outcome=${outcome}` });
      return undefined;
    },
  },
});
