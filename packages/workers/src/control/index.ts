export * from './config-cache.js';
export * from './control-handler.js';
