/**
 * A distci cluster of separate processes for one bench section: frontends (`distci frontend`) and
 * workers (`distci worker <kind>`) on the run's ZooKeeper (a chroot of its own) and S3 (a key prefix of
 * its own), plus the bench's own storage clients to watch builds end and to look into the object store.
 * Jobs are pushed and builds triggered through the HTTP API, as a user would.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  type BuildRecord,
  type CoordinationStore,
  compileStorageOptions,
  listAll,
  readBuildRecord,
  zpaths,
} from '@distci/common';
import { openStorage, type Storage } from '@distci/storage';
import { type BenchProcess, spawnDistci, stopProcesses } from './processes.js';
import type { BenchServices } from './services.js';

export interface WorkerSpec {
  kind: 'control' | 'git-checkout' | 'exec-shell' | 'publish-artifacts' | 'copy-artifacts';
  count?: number;
  concurrency?: number;
}

export interface ClusterInput {
  services: BenchServices;
  workers: WorkerSpec[];
  frontends?: number;
  /** Extra env for every distci process. */
  env?: Record<string, string>;
  /** `--profile <component>`: that kind of process (a worker kind or `frontend`) runs with `--cpu-prof`. */
  profile?: { component: string | null; dir: string };
}

export interface BenchCluster {
  chroot: string;
  prefix: string;
  env: Record<string, string>;
  storage: Storage;
  store: CoordinationStore;
  blob: BlobStore;
  frontends: Array<{ proc: BenchProcess; url: string }>;
  workers: BenchProcess[];
  /** The first frontend's URL. */
  url: string;
  token: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  push(config: unknown): Promise<void>;
  /** Triggers a build through the API; returns its number. */
  trigger(job: string): Promise<number>;
  /** Resolves with the archived record once the build's node is gone. */
  finished(job: string, build: number): Promise<BuildRecord>;
  /** Deletes the run's objects and stops every process; the chroot is left (ZooKeeper is the run's own). */
  stop(): Promise<void>;
}

/** 10 s between a frontend's or worker's start and its ready line. */
export const WORKER_READY = /ready: /;
const FRONTEND_READY = /frontend ready at (http:\/\/\S+)/;

export async function startCluster(input: ClusterInput): Promise<BenchCluster> {
  const id = randomBytes(4).toString('hex');
  const chroot = `/bench-${id}`;
  const prefix = `bench-${id}/`;
  const token = randomBytes(24).toString('hex');
  const gitCache = join(tmpdir(), `distci-bench-git-${id}`);
  const env: Record<string, string> = {
    ...input.services.env(chroot, prefix),
    DISTCI_TOKENS: token,
    // The bench triggers hundreds of builds a minute from one address.
    DISTCI_RATE_LIMIT_WRITES: '1000000',
    DISTCI_RATE_LIMIT_NOT_FOUND: '1000000',
    DISTCI_GIT_CACHE_DIR: gitCache,
    NO_COLOR: '1',
    ...input.env,
  };
  const storage = await openStorage(compileStorageOptions({}, env));
  const nodeArgs = (component: string) =>
    input.profile?.component === component ? ['--cpu-prof', `--cpu-prof-dir=${input.profile.dir}`] : [];
  const procs: BenchProcess[] = [];
  const frontends: BenchCluster['frontends'] = [];
  const workers: BenchProcess[] = [];
  let store: CoordinationStore;
  const stop = async () => {
    await stopProcesses(procs, 15_000);
    const keys: string[] = [];
    try {
      for await (const info of listAll(storage.blob)) keys.push(info.key);
      for (let i = 0; i < keys.length; i += 64)
        await Promise.all(keys.slice(i, i + 64).map((k) => storage.blob.delete(k)));
    } catch {}
    await storage.close();
    rmSync(gitCache, { recursive: true, force: true });
  };
  try {
    store = await storage.connect();
    for (let i = 0; i < (input.frontends ?? 1); i++) {
      const proc = spawnDistci(
        `frontend-${i}`,
        ['frontend', '--port', '0', '--log-level', 'warn'],
        env,
        nodeArgs('frontend'),
      );
      procs.push(proc);
      frontends.push({ proc, url: '' });
    }
    for (const spec of input.workers) {
      for (let i = 0; i < (spec.count ?? 1); i++) {
        const proc = spawnDistci(
          `${spec.kind}-${i}`,
          [
            'worker',
            spec.kind,
            '--labels',
            'linux',
            '--concurrency',
            String(spec.concurrency ?? 2),
            '--grace-ms',
            '5000',
          ],
          env,
          nodeArgs(spec.kind),
        );
        procs.push(proc);
        workers.push(proc);
      }
    }
    for (const f of frontends) f.url = (await f.proc.waitFor(FRONTEND_READY))[1]!;
    await Promise.all(workers.map((w) => w.waitFor(WORKER_READY)));
  } catch (err) {
    await stop();
    throw err;
  }
  const url = frontends[0]?.url ?? '';
  const api: BenchCluster['api'] = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json };
  };
  return {
    chroot,
    prefix,
    env,
    storage,
    store,
    blob: storage.blob,
    frontends,
    workers,
    url,
    token,
    api,
    async push(config) {
      const name = (config as { name: string }).name;
      const res = await api('PUT', `/api/v1/jobs/${name}`, config);
      if (res.status >= 300) throw new Error(`PUT job ${name}: ${res.status} ${JSON.stringify(res.json)}`);
    },
    async trigger(job) {
      const res = await api('POST', `/api/v1/jobs/${job}/builds`, {});
      if (res.status !== 201) throw new Error(`trigger ${job}: ${res.status} ${JSON.stringify(res.json)}`);
      return (res.json as { number: number }).number;
    },
    async finished(job, build) {
      // One-shot watches: wake on any change of the build node and look again; the record is written
      // before the node goes, so a missing node means the record is there.
      for (;;) {
        const gone = await new Promise<boolean>((resolve, reject) => {
          store
            .exists(zpaths.build(job, build), () => resolve(false))
            .then((stat) => {
              if (stat === null) resolve(true);
            }, reject);
        });
        if (!gone && (await store.exists(zpaths.build(job, build))) !== null) continue;
        const record = await readBuildRecord(storage.blob, job, build);
        if (record) return record;
        throw new Error(`build ${job} #${build} has neither a node nor a record`);
      }
    },
    stop,
  };
}
