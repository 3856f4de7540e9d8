import { randomBytes } from 'node:crypto';
import { COLLECTIONS, connectCloudbase, createCloudbaseStore, UNIQUE_INDEXES } from '../../cloudfunctions/src/store/cloudbase';
import type { Store } from '../../cloudfunctions/src/store/port';
import { startCloudbaseStandin, type CloudbaseStandin } from '../../scripts/lib/cloudbase-standin';

/**
 * The CloudBase adapter through the real @cloudbase/node-sdk, against a loopback stand-in of CloudBase's database API
 * (scripts/lib/cloudbase-standin.ts) with the collections and unique indexes `pnpm cloudbase:setup` creates.
 * The SDK reads its credentials from the environment; fake ones are set here (it refuses to send without them).
 */
export async function startCloudbaseStore(): Promise<{
  store: Store;
  standin: CloudbaseStandin;
  /** Another store over the same stand-in, as a second function instance would be (for races). */
  openAnother(): Store;
  close(): Promise<void>;
}> {
  process.env.TENCENTCLOUD_SECRETID ??= 'AKIDstandin';
  process.env.TENCENTCLOUD_SECRETKEY ??= 'standin-secret-key';
  // As in a cloud function: otherwise the SDK probes Tencent's metadata server before every request.
  process.env.TENCENTCLOUD_RUNENV ??= 'SCF';
  process.env.SCF_NAMESPACE ??= 'standin';
  process.env.TENCENTCLOUD_REGION ??= 'ap-shanghai';
  process.env.SILENCE = 'true'; // the SDK's "longer than 3s" warning
  const standin = await startCloudbaseStandin({ collections: Object.values(COLLECTIONS), uniqueIndexes: UNIQUE_INDEXES });
  const openAnother = () => createCloudbaseStore(connectCloudbase(`standin-${randomBytes(3).toString('hex')}`, { serviceUrl: standin.url }));
  return { store: openAnother(), standin, openAnother, close: () => standin.close() };
}
