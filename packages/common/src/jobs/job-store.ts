/**
 * Job configs in the object store, and the coordination-store index of `after` triggers.
 *
 * - `jobs/<job>/config.json`: the current config; its ETag is the version an API client sends back in
 *   `If-Match` (compare-and-set through the object store's conditional put).
 * - `jobs/<job>/versions/<sha256>.json`: an immutable snapshot of every version ever saved, written
 *   first (create-only). A build records the snapshot it runs, so editing a job never changes a build
 *   that is already queued or running.
 * - `/jobs/<upstream>/downstream/<job>`: `job` has an `after` trigger on `upstream`, so the control
 *   worker ending an upstream build finds what to fire without reading every config. Entries are
 *   hints: the control worker re-reads the downstream config before firing.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../blob-store.js';
import { childrenOrEmpty } from '../children-or-empty.js';
import type { CoordinationStore } from '../coordination-store.js';
import { distciError, isDistciError } from '../errors.js';
import { blobKeys, zpaths } from '../keys.js';
import type { JobConfig } from './job-config.js';
import { assertNoTriggerCycle } from './trigger-cycles.js';
import { parseJob } from './validate-job.js';

export interface StoredJob {
  config: JobConfig;
  /** ETag of `config.json` (for If-Match). */
  etag: string;
  /** The immutable snapshot a build of this version runs. */
  version: { key: string; etag: string };
}

function snapshotOf(config: JobConfig): { body: Buffer; sha: string } {
  const body = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  return { body, sha: createHash('sha256').update(body).digest('hex') };
}

async function readAll(blob: BlobStore, key: string): Promise<{ body: Buffer; etag: string }> {
  const { body, info } = await blob.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return { body: Buffer.concat(chunks), etag: info.etag };
}

/** The current config of a job; DISTCI_JOB_NOT_FOUND when there is none. */
export async function loadJob(blob: BlobStore, job: string): Promise<StoredJob> {
  let read: { body: Buffer; etag: string };
  try {
    read = await readAll(blob, blobKeys.jobConfig(job));
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) {
      throw distciError('DISTCI_JOB_NOT_FOUND', `no job named '${job}'`, {
        hint: 'create it with POST /api/v1/jobs (or `distci job push FILE`)',
        details: { job },
      });
    }
    throw err;
  }
  const config = JSON.parse(read.body.toString('utf8')) as JobConfig;
  const { sha } = snapshotOf(config);
  return { config, etag: read.etag, version: { key: blobKeys.jobConfigVersion(job, sha), etag: sha } };
}

/** A job config snapshot, as a build runs it. */
export async function loadJobVersion(blob: BlobStore, key: string): Promise<JobConfig> {
  return JSON.parse((await readAll(blob, key)).body.toString('utf8')) as JobConfig;
}

export interface SaveOptions {
  /** Replace only when the current config has this ETag (412 otherwise). */
  ifMatch?: string;
  /** Create only: fail with DISTCI_JOB_EXISTS when the job exists. */
  createOnly?: boolean;
}

/** Validates and saves a job config; updates the `after` index. Returns the stored job. */
export async function saveJob(
  store: CoordinationStore,
  blob: BlobStore,
  input: unknown,
  options: SaveOptions = {},
): Promise<StoredJob> {
  const config = parseJob(input);
  await assertNoTriggerCycle((job) => downstreamJobs(store, job), config);
  const { body, sha } = snapshotOf(config);
  const versionKey = blobKeys.jobConfigVersion(config.name, sha);
  let previous: StoredJob | null = null;
  try {
    previous = await loadJob(blob, config.name);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) throw err;
  }
  if (previous && options.createOnly) {
    throw distciError('DISTCI_JOB_EXISTS', `a job named '${config.name}' exists`, {
      hint: `replace it with PUT /api/v1/jobs/${config.name}`,
      details: { job: config.name },
    });
  }
  try {
    await blob.put(versionKey, body, { contentType: 'application/json', ifNoneMatch: '*' });
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_BLOB_CONFLICT')) throw err; // this exact version exists already
  }
  let etag: string;
  try {
    const conditions = options.ifMatch
      ? { ifMatch: options.ifMatch }
      : options.createOnly
        ? { ifNoneMatch: '*' as const }
        : {};
    ({ etag } = await blob.put(blobKeys.jobConfig(config.name), body, {
      contentType: 'application/json',
      ...conditions,
    }));
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_CONFLICT')) {
      throw distciError(
        options.createOnly ? 'DISTCI_JOB_EXISTS' : 'DISTCI_JOB_CHANGED',
        options.createOnly
          ? `a job named '${config.name}' exists`
          : `job '${config.name}' changed since ETag ${options.ifMatch} was read`,
        { hint: 'GET the job again, re-apply your change, and send its new ETag', details: { job: config.name } },
      );
    }
    throw err;
  }
  await indexAfterTriggers(store, config, previous?.config ?? null);
  return { config, etag, version: { key: versionKey, etag: sha } };
}

/** Deletes a job's current config and its `after` index entries (its builds and counter stay). */
export async function deleteJob(store: CoordinationStore, blob: BlobStore, job: string): Promise<void> {
  const current = await loadJob(blob, job);
  await blob.delete(blobKeys.jobConfig(job));
  await indexAfterTriggers(store, null, current.config);
}

function upstreamsOf(config: JobConfig | null): Set<string> {
  return new Set((config?.triggers?.after ?? []).map((a) => a.job));
}

async function indexAfterTriggers(
  store: CoordinationStore,
  now: JobConfig | null,
  before: JobConfig | null,
): Promise<void> {
  const name = (now ?? before)!.name;
  const add = upstreamsOf(now);
  const remove = [...upstreamsOf(before)].filter((u) => !add.has(u));
  await Promise.all([
    ...[...add].map((u) => store.ensurePath(zpaths.downstream(u, name))),
    ...remove.map((u) =>
      store.delete(zpaths.downstream(u, name)).catch((err) => {
        if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
      }),
    ),
  ]);
}

/** Jobs with an `after` trigger on `job` (hints; re-check their configs). */
export async function downstreamJobs(store: CoordinationStore, job: string): Promise<string[]> {
  return childrenOrEmpty(store, zpaths.downstreamOf(job));
}
