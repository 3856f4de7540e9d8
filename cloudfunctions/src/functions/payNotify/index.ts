import { cloudDepsFromEnv } from '../../runtime';
import { payNotifyHandler } from '../handlers';
import { cloudCaller } from '../platform';

/** CloudBase HTTP access entry: Huifu POSTs its notifications here (the URL is HUIFU_NOTIFY_URL). */
export const main = (event: unknown, context: unknown) => payNotifyHandler(cloudDepsFromEnv('payNotify'), event, cloudCaller(event, context));
