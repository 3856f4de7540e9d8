import { cloudDepsFromEnv } from '../../runtime';
import { merchantHandler } from '../merchant-api';
import { cloudCaller } from '../platform';

/** CloudBase HTTP access entry for the app backend's merchant API (signed requests). */
export const main = (event: unknown, context: unknown) => merchantHandler(cloudDepsFromEnv('merchant'), event, cloudCaller(event, context));
