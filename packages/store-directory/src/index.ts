export * from './directory-blob-store.js';
