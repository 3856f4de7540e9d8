import Toast from 'tdesign-miniprogram/toast/index';

/**
 * Toasts are handed the page explicitly (no getCurrentPages() fallback). A toast is never worth failing a payment
 * flow for, so a page without a working #t-toast shows nothing instead of throwing.
 */
export function toast(page: WechatMiniprogram.Component.TrivialInstance, message: string, theme: 'success' | 'warning' | 'error' | undefined = undefined): void {
  try {
    Toast({ context: page, selector: '#t-toast', message, theme, duration: 2000 });
  } catch {
    /* no toast component on this page */
  }
}
