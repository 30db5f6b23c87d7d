export * from './open-storage.js';
