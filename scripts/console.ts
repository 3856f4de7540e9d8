/**
 * `pnpm console --env production [--allow-actions] [--port N]`: the console page (scripts/stack/console/) against a
 * deployed environment: its CloudBase database with the CAM key in .env.production, on 127.0.0.1 only. Read-only
 * unless started with --allow-actions. It prints a link holding a one-time token; the first visit exchanges it for a
 * session cookie, and nobody else on the machine can use the link after that. (`pnpm dev` serves the same page for
 * the local stack at /console/.)
 */
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { Deps } from '../cloudfunctions/src/services/deps';
import { closeServer, listen, send } from './lib/http';
import { opsDeps } from './ops';
import { createConsole } from './stack/console/server';

export const CONSOLE_USAGE = 'usage: pnpm console --env production [--allow-actions] [--port N]   (the local stack serves its console at /console/)';

export interface RunningConsole {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves the production console on loopback; the returned URL carries the one-time token. */
export async function startProductionConsole(options: { deps: Deps; target: string; allowActions: boolean; port?: number }): Promise<RunningConsole> {
  const oneTimeToken = randomBytes(24).toString('base64url');
  const consoleHandler = createConsole({ deps: options.deps, mode: 'production', target: options.target, allowActions: options.allowActions, sandbox: null, oneTimeToken, devtoolsProjectFile: null });
  let port = 0;
  const server = createServer((req, res) => {
    consoleHandler
      .handle(req, res, port)
      .then((handled) => {
        if (!handled) send(res, 404, 'the console is at /console/');
      })
      .catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, `console error: ${(error as Error).message}`);
      });
  });
  try {
    port = await listen(server, options.port ?? 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new Error(`port ${options.port} is in use: choose another with --port`);
    throw error;
  }
  return { url: `http://127.0.0.1:${port}/console/?token=${oneTimeToken}`, server, close: () => closeServer(server) };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { env: { type: 'string' }, 'allow-actions': { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (error) {
    process.stderr.write(`console: ${(error as Error).message}\n${CONSOLE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${CONSOLE_USAGE}\n`);
    return 0;
  }
  if (values.env !== 'production') {
    process.stderr.write(`console: --env production is required (the local stack's console is at http://127.0.0.1:<CASHIER_PORT>/console/ while pnpm dev runs)\n${CONSOLE_USAGE}\n`);
    return 2;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`console: --port must be a port number (0-65535), got ${values.port}\n`);
    return 2;
  }
  const { deps, target } = opsDeps('production');
  const allowActions = values['allow-actions'] === true;
  const running = await startProductionConsole({ deps, target, allowActions, port });
  process.stdout.write(`console (production, ${allowActions ? 'ACTIONS ALLOWED' : 'read-only'}) on ${target}\n${running.url}\nThe link works once (it opens one browser session). Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  await deps.store.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`console: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
