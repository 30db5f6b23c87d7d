export { type AppOptions, default as app } from './app.js';
export { type CreateFrontendInput, createFrontend } from './create-frontend.js';
export * from './frontend-options.js';
export { signPayload, verifySignature } from './github/signature.js';
export { decodeChunk, encodeChunk } from './live/log-follow.js';
export type { FrontendStorage } from './plugins/storage.js';
export { type RunningFrontend, type StartFrontendInput, startFrontend } from './server.js';
