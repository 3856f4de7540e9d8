/**
 * The exact Node.js release the declared CloudBase runtime names (functions/manifest.ts RUNTIME.node), from the
 * official binaries the npm registry publishes as `node-<platform>-<arch>@<version>`, cached under
 * node_modules/.cache so a clean checkout fetches it once (about 40 MB, a few seconds).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
export const RUNTIME_CACHE = join(root, 'node_modules', '.cache', 'cloudbase-runtime');

/** The registry package holding this machine's Node binary, or null where none is published in that form. */
export function runtimePackage(version: string): string | null {
  const platform = process.platform === 'linux' ? 'linux' : process.platform === 'darwin' ? 'darwin' : null;
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
  return platform && arch ? `node-${platform}-${arch}@${version}` : null;
}

/** Path to the `node` binary of `version`, downloading it on first use. Throws with what to check when it cannot. */
export function ensureRuntimeNode(version: string, cacheDir = RUNTIME_CACHE): string {
  const binary = join(cacheDir, `node-v${version}`, 'node');
  if (existsSync(binary)) return binary;
  const spec = runtimePackage(version);
  if (!spec) throw new Error(`no official Node ${version} binary is published on the npm registry for ${process.platform}-${process.arch}`);
  const work = mkdtempSync(join(tmpdir(), 'runtime-node-'));
  try {
    let packed: Array<{ filename: string }>;
    try {
      const out = execFileSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
      packed = JSON.parse(out) as Array<{ filename: string }>;
    } catch (error) {
      throw new Error(`could not fetch ${spec} from the npm registry (npm pack): ${(error as Error).message.split('\n')[0]}`);
    }
    const tarball = join(work, packed[0]!.filename);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node'], { stdio: 'ignore' });
    const reported = execFileSync(join(work, 'package', 'bin', 'node'), ['--version'], { encoding: 'utf8', env: {} }).trim();
    if (reported !== `v${version}`) throw new Error(`${spec} reports ${reported}, expected v${version}`);
    mkdirSync(join(cacheDir, `node-v${version}`), { recursive: true });
    // A rename, so a parallel run never sees half a binary.
    renameSync(join(work, 'package', 'bin', 'node'), binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
