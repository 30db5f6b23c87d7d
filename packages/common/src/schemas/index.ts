export * from './build-view.js';
export * from './job-views.js';
export * from './schema-helpers.js';
export * from './worker-views.js';
