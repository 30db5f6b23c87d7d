export * from './build-state.js';
export * from './trigger-build.js';
