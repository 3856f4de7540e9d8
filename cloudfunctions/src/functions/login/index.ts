import { cloudDepsFromEnv } from '../../runtime';
import { loginHandler } from '../handlers';

/** CloudBase entry: wx.cloud.callFunction({ name: 'login', data: { code } }). */
export const main = (event: unknown) => loginHandler(cloudDepsFromEnv, event);
