export * from './embedded-store.js';
