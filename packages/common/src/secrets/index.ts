export * from './job-pattern.js';
export * from './secret-cipher.js';
export * from './secret-policy.js';
export * from './secret-store.js';
export * from './token-store.js';
