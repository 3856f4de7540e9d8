export * from './errors';
export * from './money';
export * from './status';
export * from './contracts';
