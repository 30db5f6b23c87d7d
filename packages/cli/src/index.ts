export * from './cli-error.js';
export * from './program.js';
export * from './run-main.js';
