/**
 * Frontends for the tests, each on storage of its own, everything closed in teardown:
 * - `realStorage(t)`: the run's real ZooKeeper (a chroot per test, removed afterwards) and Ceph RGW
 *   (a key prefix per test, emptied afterwards) — `loadServices()`;
 * - `embeddedStorage(t)`: an in-memory embedded coordination server and a directory blob store in a
 *   temp dir, where speed matters more than the wire.
 * `testFrontend(t, storage)` builds an app on a new session of that storage (inject, or `listen`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BlobStore, type CoordinationStore, listAll } from '@distci/common';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createEmbeddedServer } from '@distci/store-embedded';
import { createS3BlobStore } from '@distci/store-s3';
import { createZooKeeperStore } from '@distci/store-zookeeper';
import { loadServices, removeTree, uniqueName } from '@distci/testkit';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { createFrontend } from '../../src/create-frontend.js';
import { compileFrontendOptions, type FrontendFlags, type FrontendOptions } from '../../src/frontend-options.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const SECRET = 'It’s a Secret to Everybody';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export interface TestStorage {
  /** A new coordination session on the test's namespace (closed in teardown). */
  connect(): Promise<CoordinationStore>;
  blob: BlobStore;
  /** For child processes: how to reach the same namespace. */
  describe(): { zk?: { connect: string; chroot: string }; s3?: { prefix: string } };
}

export function realStorage(t: Test, sessionTimeoutMs = 10_000): TestStorage {
  const { zk, s3 } = loadServices();
  const chroot = `/${uniqueName('f')}`;
  const prefix = `${uniqueName('f')}/`;
  const stores: CoordinationStore[] = [];
  const blob = createS3BlobStore({ ...s3, prefix });
  t.teardown(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const root = createZooKeeperStore({ connect: zk.connect, chroot: '', sessionTimeoutMs: 10_000 });
    try {
      await root.ready();
      await removeTree(root, chroot);
    } finally {
      await root.close();
    }
    const keys: string[] = [];
    for await (const info of listAll(blob)) keys.push(info.key);
    await Promise.all(keys.map((key) => blob.delete(key)));
    await blob.close();
  });
  return {
    blob,
    async connect() {
      const store = createZooKeeperStore({ connect: zk.connect, chroot, sessionTimeoutMs });
      stores.push(store);
      await store.ready();
      return store;
    },
    describe: () => ({ zk: { connect: zk.connect, chroot }, s3: { prefix } }),
  };
}

export async function embeddedStorage(t: Test): Promise<TestStorage> {
  const dir = await mkdtemp(join(tmpdir(), 'distci-frontend-'));
  const server = createEmbeddedServer();
  const blob = createDirectoryBlobStore({ dir, prefix: '' });
  t.teardown(async () => {
    await server.close();
    await blob.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { blob, connect: () => server.connect({ chroot: '/distci' }), describe: () => ({}) };
}

export function testOptions(flags: FrontendFlags = {}, env: Record<string, string> = {}): FrontendOptions {
  return compileFrontendOptions(
    {
      port: 0,
      tokens: [TOKEN],
      githubSecret: SECRET,
      webhookSweepMs: 0,
      rateLimits: { writesPerMinute: 100_000, notFoundPerMinute: 100_000 },
      ...flags,
    },
    env,
  );
}

export interface TestFrontend {
  app: FastifyInstance;
  store: CoordinationStore;
  blob: BlobStore;
}

/** An app on a new session of `storage`; closed (before its session) in teardown. */
export async function testFrontend(
  t: Test,
  storage: TestStorage,
  options: FrontendOptions = testOptions(),
): Promise<TestFrontend> {
  const store = await storage.connect();
  const app = await createFrontend({ storage: { store, blob: storage.blob }, options, logger: false });
  t.teardown(async () => {
    await app.close();
    await store.close();
  });
  await app.ready();
  return { app, store, blob: storage.blob };
}

/** A valid job config. */
export function jobConfig(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    steps: [
      { name: 'build', type: 'exec-shell', run: 'make' },
      { name: 'test', type: 'exec-shell', run: 'make test', needs: ['build'] },
    ],
    ...extra,
  };
}
