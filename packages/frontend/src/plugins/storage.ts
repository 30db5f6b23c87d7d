/**
 * Decorates the app with its storage: one coordination-store session and the blob store, opened by
 * whoever starts the app (`server.ts`, or a test) and closed by that owner, never here. The frontend
 * keeps nothing else: any instance answers any request the same way (invariant 7).
 */
import type { BlobStore, CoordinationStore } from '@distci/common';
import fp from 'fastify-plugin';
import type { FrontendOptions } from '../frontend-options.js';

export interface FrontendStorage {
  /** This frontend's session (reads, watches, triggers). */
  readonly store: CoordinationStore;
  readonly blob: BlobStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    storage: FrontendStorage;
    frontendOptions: FrontendOptions;
  }
}

export interface StoragePluginOptions {
  storage: FrontendStorage;
  options: FrontendOptions;
}

export const storagePlugin = fp<StoragePluginOptions>(
  async (fastify, { storage, options }) => {
    fastify.decorate('storage', storage);
    fastify.decorate('frontendOptions', options);
  },
  { name: 'distci-storage' },
);
