import type { OrderStatus } from '@cashier/shared';

/** Every Chinese string the pages show, in one place. Error messages come from the shared catalogue. */
export const statusCopy: Record<OrderStatus, string> = {
  CREATED: '待支付',
  PAYING: '待支付',
  PAID: '支付成功',
  FAILED: '支付失败',
  CLOSED: '已关闭',
  PAID_AFTER_CLOSE: '已支付（待处理）',
  PARTIALLY_REFUNDED: '部分退款',
  REFUNDED: '已退款',
};

export const copy = {
  loading: '加载中…',
  pay: '立即支付',
  continuePay: '继续支付',
  creating: '正在创建订单…',
  paying: '正在支付…',
  confirming: '正在确认支付结果…',
  cancelled: '已取消支付',
  paidTitle: '支付成功',
  confirmingTitle: '支付结果确认中',
  confirmingDescription: '支付结果确认中，请勿重复支付',
  failedTitle: '支付未完成',
  failedDescription: '订单未支付成功，可稍后在订单中重试',
  refresh: '刷新结果',
  viewOrders: '查看订单',
  backToApp: '返回App',
  backToAppFailed: '请手动返回 App 查看订单',
  backToAppManually: '请返回 App 查看订单状态',
  missingToken: '缺少支付信息，请返回 App 重新发起支付',
  noOrders: '暂无订单',
  expiresIn: '剩余支付时间',
  expired: '订单已过期',
  sandboxTitle: '模拟收银台（本地沙箱）',
  sandboxPay: '确认支付',
  sandboxFail: '模拟支付失败',
  sandboxCancel: '取消支付',
  orderNo: '订单号',
  amount: '金额',
  status: '状态',
} as const;
