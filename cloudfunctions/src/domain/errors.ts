import { ERROR_CATALOGUE, type ErrorCode } from '@cashier/shared';

/**
 * The one base class for every failure we expect. `code` is the stable catalogue code the client sees, `message` is
 * for developers and logs (never shown to users, never holding secrets), `retryable` says whether the same call may
 * succeed later. Branch on the class or the code, never on the message.
 */
export class PayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? ERROR_CATALOGUE[code].retryable;
  }
}

/** An input failed validation; `issues` lists each problem as "path: message". */
export class ValidationError extends PayError {
  constructor(
    message: string,
    readonly issues: string[] = [],
    code: ErrorCode = 'INVALID_REQUEST',
  ) {
    super(code, issues.length ? `${message}: ${issues.join('; ')}` : message);
  }
}

/** A yuan string or fen amount that is not valid money. */
export class MoneyError extends ValidationError {
  constructor(message: string) {
    super(message);
  }
}

/** A state machine was asked for a transition it does not allow. */
export class IllegalTransitionError extends PayError {
  constructor(
    readonly machine: 'order' | 'refund',
    readonly from: string,
    readonly to: string,
  ) {
    super('INTERNAL', `Illegal ${machine} transition ${from} → ${to}`, { retryable: false });
  }
}
