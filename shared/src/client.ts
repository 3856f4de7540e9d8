/**
 * The part of `@cashier/shared` the mini-program ships at run time: no zod, no decimal.js.
 * Types of the contracts come from `./contracts` with `import type`.
 */
export * from './errors';
export * from './money';
export * from './status';
