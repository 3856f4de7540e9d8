import { errorBody, type ErrorBody } from '@cashier/shared';
import type { FunctionResponse } from '@cashier/shared/contracts';
import { config, mode } from '../config';

/**
 * The only module that talks to the functions: wx.cloud.callFunction in cloud mode, wx.request to the local
 * function host in local mode. Failures of the transport itself become NETWORK_ERROR, so pages only ever see
 * catalogue codes and messages.
 */
export type Result<T> = FunctionResponse<T>;

function networkError(): { ok: false; error: ErrorBody } {
  return { ok: false, error: errorBody('NETWORK_ERROR') };
}

function isResponse<T>(value: unknown): value is Result<T> {
  return typeof (value as { ok?: unknown } | null | undefined)?.ok === 'boolean';
}

export function callFunction<T>(name: string, data: Record<string, unknown>): Promise<Result<T>> {
  if (mode() === 'cloud') {
    return new Promise((resolve) => {
      wx.cloud.callFunction({
        name,
        data,
        success: (res) => resolve(isResponse<T>(res.result) ? res.result : networkError()),
        fail: () => resolve(networkError()),
      });
    });
  }
  return new Promise((resolve) => {
    wx.request({
      url: `${config.localFunctionsUrl}/fn/${name}`,
      method: 'POST',
      data,
      header: { 'content-type': 'application/json' },
      timeout: 20_000,
      success: (res) => resolve(isResponse<T>(res.data) ? res.data : networkError()),
      fail: () => resolve(networkError()),
    });
  });
}
