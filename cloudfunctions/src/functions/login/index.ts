import { cloudDepsFromEnv } from '../../runtime';
import { loginHandler } from '../handlers';
import { cloudCaller } from '../platform';

/** CloudBase entry: wx.cloud.callFunction({ name: 'login', data: { code } }). */
export const main = (event: unknown, context: unknown) => loginHandler(cloudDepsFromEnv('login'), event, cloudCaller(event, context));
