/**
 * The two configuration files: `.env.local` (optional) adjusts the local stack (`pnpm dev`, `pnpm demo`), e.g. to use
 * Huifu's joint-test gateway; `.env.production` holds a deployed environment's variables (`pnpm deploy:cloudbase`,
 * `pnpm cloudbase:setup`, `pnpm ops --env production`). They are never mixed, and `.env` alone is not read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ALL_VARIABLES } from '../../cloudfunctions/src/config';

export type EnvironmentName = 'local' | 'production';

export const envFilePath = (name: EnvironmentName, root = process.cwd()) => resolve(root, `.env.${name}`);

/** The variables of an env file (without touching process.env), or null when there is no such file. */
export function readEnvFile(path: string): Record<string, string> | null {
  if (!existsSync(path)) return null;
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/** Says once, on stderr, that a lone `.env` is ignored, so nobody wonders why their settings do nothing. */
export function warnAboutLegacyDotEnv(root = process.cwd(), write: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  if (existsSync(resolve(root, '.env'))) {
    write('note: .env is not read: local settings go in .env.local (pnpm dev, pnpm demo), a deployment\'s in .env.production (pnpm deploy:cloudbase, pnpm ops --env production)');
  }
}

/**
 * The functions' variables for an environment: those in its file, overridden by the same names in the process
 * environment (so `HUIFU_API_VERSION=v4 pnpm dev` works). Only variables the functions read are taken.
 */
export function environmentVariables(name: EnvironmentName, root = process.cwd(), processEnv: NodeJS.ProcessEnv = process.env): { file: string | null; variables: Record<string, string> } {
  const path = envFilePath(name, root);
  const fromFile = readEnvFile(path) ?? {};
  const variables: Record<string, string> = {};
  for (const key of ALL_VARIABLES) {
    const value = processEnv[key] ?? fromFile[key];
    if (value !== undefined && value.trim() !== '') variables[key] = value;
  }
  return { file: existsSync(path) ? path : null, variables };
}
