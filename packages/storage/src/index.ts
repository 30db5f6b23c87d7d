export * from './open-storage.js';
export * from './storage-init.js';
