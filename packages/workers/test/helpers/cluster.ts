/**
 * A small distci cluster inside one test: real ZooKeeper (a chroot of its own) and real Ceph RGW (a
 * key prefix of its own), with workers of every kind started in-process — each its own session, as
 * separate processes would have — and helpers to push jobs, trigger builds and wait for their end.
 */
import {
  type BlobStore,
  type BuildRecord,
  type CoordinationStore,
  compileStorageOptions,
  listAll,
  loadJob,
  readBuildRecord,
  saveJob,
  triggerBuild,
  type WorkerKind,
  zpaths,
} from '@distci/common';
import { openStorage, type Storage } from '@distci/storage';
import { loadServices, uniqueName } from '@distci/testkit';
import type { Test } from 'tap';
import { type RunningWorker, startWorker } from '../../src/start-worker.js';
import type { WorkerEvent } from '../../src/worker-events.js';
import { compileWorkerOptions } from '../../src/worker-options.js';

export interface TestCluster {
  /** The environment a worker process needs to join this cluster (`fixtures/build-worker.ts`). */
  env: Record<string, string>;
  storage: Storage;
  store: CoordinationStore;
  blob: BlobStore;
  workers: RunningWorker[];
  events: WorkerEvent[];
  /** Starts a worker; exec-shell steps run in the sandbox where bubblewrap works (isolation `auto`). */
  startWorker(
    kind: WorkerKind,
    flags?: {
      labels?: string;
      concurrency?: number;
      isolation?: 'bwrap' | 'none' | 'auto';
      /** The worker's environment options (e.g. `DISTCI_GITHUB_TOKEN`); none by default. */
      env?: Record<string, string>;
    },
  ): Promise<RunningWorker>;
  push(config: unknown): Promise<void>;
  trigger(job: string, ref?: string): Promise<number>;
  /** Resolves with the archived record once the build's node is gone. */
  finished(job: string, build: number): Promise<BuildRecord>;
}

/** One worker of every kind: what a build of every step type needs. */
export const ONE_OF_EACH: Readonly<Record<WorkerKind, number>> = {
  control: 1,
  'git-checkout': 1,
  'exec-shell': 1,
  'publish-artifacts': 1,
  'copy-artifacts': 1,
};

export async function startTestCluster(t: Test, kinds: Partial<Record<WorkerKind, number>>): Promise<TestCluster> {
  const { zk, s3 } = loadServices();
  const env = {
    DISTCI_ZK: `${zk.connect}/${uniqueName('cluster')}`,
    DISTCI_SESSION_TIMEOUT_MS: '4000',
    DISTCI_S3_ENDPOINT: s3.endpoint,
    DISTCI_S3_BUCKET: s3.bucket,
    DISTCI_S3_REGION: s3.region,
    DISTCI_S3_PREFIX: `${uniqueName('c')}/`,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    // The tests' repositories are local dirs (no network here).
    DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true',
  };
  // The in-process git-checkout workers read it from this process's environment.
  process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES = 'true';
  const storage = await openStorage(compileStorageOptions({}, env));
  const store = await storage.connect();
  const events: WorkerEvent[] = [];
  const workers: RunningWorker[] = [];
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.worker.drain(0)));
    await Promise.all(workers.map((w) => w.done.catch(() => {})));
    const keys: string[] = [];
    for await (const info of listAll(storage.blob)) keys.push(info.key);
    await Promise.all(keys.map((k) => storage.blob.delete(k)));
    await storage.close();
  });
  const cluster: TestCluster = {
    env,
    storage,
    store,
    blob: storage.blob,
    workers,
    events,
    async startWorker(kind, flags = {}) {
      const running = await startWorker({
        storage,
        options: compileWorkerOptions(
          {
            kind,
            concurrency: flags.concurrency ?? 2,
            labels: flags.labels ?? 'linux',
            isolation: flags.isolation ?? 'auto',
          },
          flags.env ?? {},
        ),
        onEvent: (e) => events.push(e),
      });
      workers.push(running);
      return running;
    },
    async push(config) {
      await saveJob(store, storage.blob, config);
    },
    async trigger(job, ref) {
      const { config, version } = await loadJob(storage.blob, job);
      return triggerBuild(store, {
        job,
        config: version,
        trigger: { type: 'manual' },
        ref: ref ?? config.repository?.ref ?? null,
      });
    },
    async finished(job, build) {
      // One-shot watches: wake on any change of the build node (running, cancel, …) and look again;
      // the record is written before the node goes, so a missing node means the record is there.
      for (;;) {
        const changed = new Promise<void>((resolve) => {
          void store
            .exists(zpaths.build(job, build), () => resolve())
            .then((stat) => {
              if (stat === null) resolve();
            });
        });
        await changed;
        if ((await store.exists(zpaths.build(job, build))) !== null) continue;
        const record = await readBuildRecord(storage.blob, job, build);
        if (record) return record;
        throw new Error(`build ${job} #${build} has neither a node nor a record`);
      }
    },
  };
  for (const [kind, n] of Object.entries(kinds) as Array<[WorkerKind, number]>) {
    for (let i = 0; i < n; i++) await cluster.startWorker(kind);
  }
  return cluster;
}
