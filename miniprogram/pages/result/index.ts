import { formatFen } from '@cashier/shared';
import { copy } from '../../services/copy';
import { appParameter, canLaunchApp } from '../../services/launch';
import { isGone, markGone } from '../../services/lifetime';
import { fetchOrder } from '../../services/orders';
import { outcomeOf, type PayOutcome } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * Paid, still confirming ("支付结果确认中，请勿重复支付") or failed, from the server's answer. "返回App" appears only
 * when WeChat will let it work (services/launch.ts), decided again on every show; otherwise a plain instruction.
 * app-parameter is never empty: {"ref","status"}, with status UNKNOWN until the server has answered.
 */
const VIEW: Record<PayOutcome, { theme: 'success' | 'warning' | 'error'; title: string; description: string }> = {
  paid: { theme: 'success', title: copy.paidTitle, description: '' },
  unconfirmed: { theme: 'warning', title: copy.confirmingTitle, description: copy.confirmingDescription },
  failed: { theme: 'error', title: copy.failedTitle, description: copy.failedDescription },
  notPaid: { theme: 'error', title: copy.failedTitle, description: copy.notPaid },
  cancelled: { theme: 'error', title: copy.failedTitle, description: copy.cancelled },
};

Component({
  data: {
    labels: copy,
    outcome: 'unconfirmed' as PayOutcome,
    theme: 'warning' as 'success' | 'warning' | 'error',
    title: copy.confirmingTitle as string,
    description: '',
    orderNo: '',
    amountText: '',
    showLaunchApp: false,
    appParameter: appParameter(null, null),
    launchFailed: false,
    refreshing: false,
  },
  lifetimes: {
    detached() {
      markGone(this);
    },
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const read = (value: string | undefined) => {
        try {
          return value ? decodeURIComponent(value) : '';
        } catch {
          return '';
        }
      };
      const orderNo = read(query.orderNo);
      const hinted = query.outcome && query.outcome in VIEW ? (query.outcome as PayOutcome) : 'unconfirmed';
      this.setData({ orderNo, ...VIEW[hinted], outcome: hinted, appParameter: appParameter(read(query.ref) || null, null), showLaunchApp: canLaunchApp() });
      return orderNo ? this.refresh() : undefined;
    },

    onShow() {
      this.setData({ showLaunchApp: canLaunchApp() });
    },

    onUnload() {
      markGone(this);
    },

    /** The page shows what the server says, whatever the previous page hinted. */
    async refresh() {
      this.setData({ refreshing: true });
      const answer = await fetchOrder(this.data.orderNo);
      if (isGone(this)) return;
      this.setData({ refreshing: false });
      if (!answer.ok) {
        toast(this, answer.error.message, 'error');
        return;
      }
      const outcome = outcomeOf(answer.data) ?? 'unconfirmed';
      this.setData({
        ...VIEW[outcome],
        outcome,
        amountText: formatFen(answer.data.amountFen),
        appParameter: appParameter(answer.data.ref, answer.data.status),
        showLaunchApp: canLaunchApp(),
      });
    },

    onRefresh() {
      return this.refresh();
    },

    onViewOrders() {
      wx.navigateTo({ url: '/pages/orders/index' });
    },

    onLaunchAppError() {
      // "invalid scene" and the like: the user goes back by hand.
      this.setData({ launchFailed: true });
      toast(this, copy.backToAppFailed);
    },
  },
});
