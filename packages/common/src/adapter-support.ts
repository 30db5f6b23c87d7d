/**
 * What the storage adapters share and nothing else needs: body conversion, ETag quoting, the error
 * shapes of a failed conditional put. Its own entry point (`@distci/common/adapter-support`) so the
 * main barrel stays the domain's.
 */
export * from './blob-helpers.js';
