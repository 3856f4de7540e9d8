import { cloudDepsFromEnv } from '../../runtime';
import { reconcileHandler } from '../handlers';

/** CloudBase timer entry (config.json: every minute). */
export const main = (event: unknown) => reconcileHandler(cloudDepsFromEnv, event);
