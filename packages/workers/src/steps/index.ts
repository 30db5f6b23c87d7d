export * from './log-writer.js';
export * from './step-handler.js';
export * from './workspace.js';
