export * from './blob-store.js';
export * from './coordination-store.js';
export * from './errors.js';
export * from './jobs/index.js';
export * from './keys.js';
export * from './options.js';
export * from './tickets/index.js';
export * from './types.js';
