import { cloudDepsFromEnv } from '../../runtime';
import { orderHandler } from '../handlers';
import { cloudCaller } from '../platform';

/** CloudBase entry: wx.cloud.callFunction({ name: 'order', data: { action, sessionToken, ... } }). */
export const main = (event: unknown, context: unknown) => orderHandler(cloudDepsFromEnv('order'), event, cloudCaller(event, context));
