export * from './archive-build.js';
export * from './config-cache.js';
export * from './control-handler.js';
export * from './decide-advance.js';
