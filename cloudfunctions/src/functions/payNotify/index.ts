import { cloudDepsFromEnv } from '../../runtime';
import { payNotifyHandler } from '../handlers';

/** CloudBase HTTP access entry: Huifu POSTs its notifications here (the URL is HUIFU_NOTIFY_URL). */
export const main = (event: unknown) => payNotifyHandler(cloudDepsFromEnv, event);
