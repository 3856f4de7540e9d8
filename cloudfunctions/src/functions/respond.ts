import { errorBody, type FunctionResponse } from '@cashier/shared';
import type * as z from '@cashier/shared/src/zod';
import { PayError } from '../domain/errors';
import type { Logger } from '../services/deps';

/** Every function answers `{ ok: true, data }` or `{ ok: false, error: { code, message, retryable } }`. */
export function ok<T>(data: T): FunctionResponse<T> {
  return { ok: true, data };
}

/**
 * Maps any failure to the catalogue. Users get the catalogue's Chinese message; the developer message goes to the
 * log. Unknown errors become INTERNAL and their stack stays in the log, never in the answer.
 */
export function fail(error: unknown, log: Logger, context: Record<string, unknown> = {}): FunctionResponse<never> {
  if (error instanceof PayError) {
    const body = errorBody(error.code);
    (error.code === 'INTERNAL' || error.code === 'PAYMENT_CONFIG_ERROR' || error.code === 'CONFIG_INVALID' ? log.error : log.warn)(error.message, { ...context, code: error.code });
    return { ok: false, error: { ...body, retryable: error.retryable } };
  }
  log.error('unexpected error', { ...context, error: (error as Error)?.stack ?? String(error) });
  return { ok: false, error: errorBody('INTERNAL') };
}

export function invalid(error: z.core.$ZodError, log: Logger, context: Record<string, unknown> = {}): FunctionResponse<never> {
  const issues = error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
  log.warn('invalid request', { ...context, issues });
  return { ok: false, error: errorBody('INVALID_REQUEST') };
}
