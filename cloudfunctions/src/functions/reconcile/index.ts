import { cloudDepsFromEnv } from '../../runtime';
import { reconcileHandler } from '../handlers';
import { cloudCaller } from '../platform';

/** CloudBase timer entry (every minute); an administrator may also invoke it. Never a mini-program user. */
export const main = (event: unknown, context: unknown) => reconcileHandler(cloudDepsFromEnv('reconcile'), event, cloudCaller(event, context));
