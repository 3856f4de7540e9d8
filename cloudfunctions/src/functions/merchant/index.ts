import { cloudDepsFromEnv } from '../../runtime';
import { merchantHandler } from '../merchant-api';

/** CloudBase HTTP access entry for the app backend's merchant API (signed requests). */
export const main = (event: unknown) => merchantHandler(cloudDepsFromEnv, event);
