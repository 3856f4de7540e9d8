/**
 * Where a running local stack is: `pnpm dev` writes <dataDir>/stack.json (ports, URLs, data folder, pid) when it is
 * ready and removes it when it stops; `pnpm ops`, `pnpm checkout:link` and other tools read it instead of guessing
 * ports. A file left behind by a killed stack is recognised by its dead pid.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';

export const StackState = z.object({
  pid: z.number().int(),
  startedAt: z.number(),
  dataDir: z.string(),
  functionsUrl: z.string(),
  notifyUrl: z.string(),
  huifuUrl: z.string().nullable(),
  wechatUrl: z.string().nullable(),
  sqlitePath: z.string(),
  consoleUrl: z.string().optional(),
});
export type StackState = z.infer<typeof StackState>;

export const stateFile = (dataDir: string) => join(dataDir, 'stack.json');

/** Writes the state file; returns a function that removes it (only if it is still ours). */
export function writeStackState(dataDir: string, state: StackState): () => void {
  writeFileSync(stateFile(dataDir), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  return () => {
    const current = readStackStateFile(dataDir);
    if (current?.pid === state.pid) rmSync(stateFile(dataDir), { force: true });
  };
}

function readStackStateFile(dataDir: string): StackState | null {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return null;
  try {
    const parsed = StackState.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type RunningStack = { running: true; state: StackState } | { running: false; reason: string };

/** The stack running from this data folder, or why there is none (with what to do). */
export function findRunningStack(dataDir: string): RunningStack {
  const state = readStackStateFile(dataDir);
  if (!state) return { running: false, reason: `no local stack is running from ${dataDir} (no ${stateFile(dataDir)}): start one with \`pnpm dev\`` };
  if (!alive(state.pid)) {
    return { running: false, reason: `the local stack recorded in ${stateFile(dataDir)} (pid ${state.pid}) is not running any more: start it again with \`pnpm dev\`` };
  }
  return { running: true, state };
}
