import { cloudDepsFromEnv } from '../../runtime';
import { platformOpenid } from '../platform';
import { orderHandler } from '../handlers';

/** CloudBase entry: wx.cloud.callFunction({ name: 'order', data: { action, sessionToken, ... } }). */
export const main = (event: unknown) => orderHandler(cloudDepsFromEnv, event, platformOpenid());
