export * from './artifact-manifest.js';
export * from './build-record.js';
export * from './build-state.js';
export * from './cancel-build.js';
export * from './read-build.js';
export * from './retry-build.js';
export * from './step-ticket.js';
export * from './trigger-build.js';
