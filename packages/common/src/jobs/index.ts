export * from './credential-env.js';
export * from './duration.js';
export * from './job-config.js';
export * from './job-params.js';
export * from './job-schema.js';
export * from './job-store.js';
export * from './plan-build.js';
export * from './validate-job.js';
