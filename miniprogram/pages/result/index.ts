import { formatFen } from '@cashier/shared';
import { copy } from '../../services/copy';
import { canLaunchApp } from '../../services/launch';
import { fetchOrder } from '../../services/orders';
import { outcomeOf, type PayOutcome } from '../../services/payment';
import { toast } from '../../services/toast';

/**
 * Paid, still confirming ("支付结果确认中，请勿重复支付") or failed, from the server's answer. "返回App" appears only
 * when WeChat will let it work (services/launch.ts); otherwise a plain instruction. app-parameter is a convenience
 * for the app's UI ({"ref","status"}); the app's backend learns the truth from our webhook or the merchant API.
 */
const VIEW: Record<PayOutcome, { theme: 'success' | 'warning' | 'error'; title: string; description: string }> = {
  paid: { theme: 'success', title: copy.paidTitle, description: '' },
  unconfirmed: { theme: 'warning', title: copy.confirmingTitle, description: copy.confirmingDescription },
  failed: { theme: 'error', title: copy.failedTitle, description: copy.failedDescription },
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
    appParameter: '',
    manualHint: copy.backToAppManually,
    launchFailed: false,
    refreshing: false,
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const orderNo = query.orderNo ? decodeURIComponent(query.orderNo) : '';
      const hinted = (query.outcome as PayOutcome | undefined) ?? 'unconfirmed';
      this.setData({ orderNo, ...VIEW[hinted in VIEW ? hinted : 'unconfirmed'], outcome: hinted, showLaunchApp: canLaunchApp() });
      return orderNo ? this.refresh() : undefined;
    },

    /** The page shows what the server says, whatever the previous page hinted. */
    async refresh() {
      this.setData({ refreshing: true });
      const answer = await fetchOrder(this.data.orderNo);
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
        appParameter: JSON.stringify({ ref: answer.data.ref, status: answer.data.status }),
        showLaunchApp: canLaunchApp(),
      });
    },

    onRefresh() {
      return this.refresh();
    },

    onLaunchAppError() {
      // "invalid scene" and the like: the user goes back by hand.
      this.setData({ launchFailed: true });
      toast(this, copy.backToAppFailed);
    },
  },
});
