export * from './webhook-inbox.js';
