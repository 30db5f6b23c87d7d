/**
 * Boots a frontend: opens storage (a coordination session and the object store, from compiled storage
 * options), creates the app on it, listens. Closing the returned server stops the app (SSE streams are
 * ended, the inbox sweeper stops), then closes the session and the storage it opened — every start has
 * a close.
 */
import { compileStorageOptions, type StorageOptions } from '@distci/common';
import { openStorage, type Storage } from '@distci/storage';
import type { FastifyInstance } from 'fastify';
import { createFrontend } from './create-frontend.js';
import type { FrontendOptions } from './frontend-options.js';

export interface StartFrontendInput {
  options: FrontendOptions;
  /** Storage options; default: compiled from the environment. */
  storageOptions?: StorageOptions;
  /** Opened storage to use instead (e.g. `distci dev`, sharing one embedded server): not closed here. */
  storage?: Storage;
  logger?: Parameters<typeof createFrontend>[0]['logger'];
}

export interface RunningFrontend {
  app: FastifyInstance;
  /** `http://host:port` the server listens on. */
  url: string;
  close(): Promise<void>;
}

export async function startFrontend(input: StartFrontendInput): Promise<RunningFrontend> {
  const owned = input.storage ? null : await openStorage(input.storageOptions ?? compileStorageOptions());
  const storage = input.storage ?? owned!;
  // A directory store is this machine's own: made here (its first put always did), so /readyz, which
  // reports a missing bucket, does not report a fresh data dir as one.
  if (storage.blob.kind === 'directory') await storage.blob.createContainer();
  const store = await storage.connect();
  let app: FastifyInstance;
  try {
    app = await createFrontend({
      storage: { store, blob: storage.blob },
      options: input.options,
      ...(input.logger !== undefined ? { logger: input.logger } : {}),
    });
    app.addHook('onClose', async () => {
      await store.close();
      await owned?.close();
    });
    await app.listen({ port: input.options.port, host: input.options.host });
  } catch (err) {
    await store.close();
    await owned?.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : input.options.port;
  const host = input.options.host.includes(':') ? `[${input.options.host}]` : input.options.host;
  return { app, url: `http://${host}:${port}`, close: () => app.close() };
}
