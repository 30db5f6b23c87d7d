/**
 * Decorates the app with the domain layer (`fastify.distci`, `openDistci`) over its storage: one
 * coordination-store session and the blob store, opened by whoever starts the app (`server.ts`, or a
 * test) and closed by that owner, never here. Routes read and change jobs, builds, logs, artifacts and
 * webhook deliveries only through it — never the raw stores. The frontend keeps nothing else but the
 * domain's caches and shared log readers: any instance answers any request the same way (invariant 7).
 */
import { type BlobStore, type CoordinationStore, type Distci, openDistci } from '@distci/common';
import fp from 'fastify-plugin';
import type { FrontendOptions } from '../frontend-options.js';

export interface FrontendStorage {
  /** This frontend's session (reads, watches, triggers). */
  readonly store: CoordinationStore;
  readonly blob: BlobStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    distci: Distci;
    frontendOptions: FrontendOptions;
  }
}

export interface StoragePluginOptions {
  storage: FrontendStorage;
  options: FrontendOptions;
}

export const storagePlugin = fp<StoragePluginOptions>(
  async (fastify, { storage, options }) => {
    fastify.decorate('distci', openDistci(storage, { logPollMs: options.logPollMs }));
    fastify.decorate('frontendOptions', options);
  },
  { name: 'distci-storage' },
);
