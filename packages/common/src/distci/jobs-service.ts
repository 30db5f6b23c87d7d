/**
 * `distci.jobs`: job configs (the object store) and their counter nodes (the coordination store),
 * read and written without naming either.
 */
import type { BlobStore } from '../blob-store.js';
import { decodeJson, type JobNode } from '../builds/build-state.js';
import { childrenOrEmpty, orNullOnNoNode } from '../children-or-empty.js';
import type { CoordinationStore } from '../coordination-store.js';
import type { JobConfig } from '../jobs/job-config.js';
import {
  deleteJob,
  downstreamJobs,
  loadJob,
  loadJobVersion,
  type SaveOptions,
  type StoredJob,
  saveJob,
} from '../jobs/job-store.js';
import { blobKeys, zpaths } from '../keys.js';

export interface JobsService {
  /** The current config; DISTCI_JOB_NOT_FOUND. */
  load(job: string): Promise<StoredJob>;
  /** An immutable config snapshot, as a build runs it. */
  loadVersion(key: string): Promise<JobConfig>;
  save(input: unknown, options?: SaveOptions): Promise<StoredJob>;
  delete(job: string): Promise<void>;
  /** Whether a config of that name exists (one HEAD). */
  exists(job: string): Promise<boolean>;
  /**
   * One page of job names, by name; `limit` 1..1000. A bad `cursor` is the store's DISTCI_BAD_OPTION.
   * Names are as stored: a name that is not a job's is the caller's to skip (its `load` says so).
   */
  page(options: { cursor?: string; limit?: number }): Promise<{ names: string[]; cursor: string | null }>;
  /** Every job name (all pages). */
  names(): Promise<string[]>;
  /** Names of the jobs that ever had a build (they have a counter node). */
  withBuilds(): Promise<string[]>;
  /** A job's counter node, read only (never created: a typo must not make one); null when none. */
  node(job: string): Promise<JobNode | null>;
  /** Jobs with an `after` trigger on `job`. */
  downstreamOf(job: string): Promise<string[]>;
}

export function openJobs(store: CoordinationStore, blob: BlobStore): JobsService {
  const prefix = blobKeys.jobsPrefix();
  const page: JobsService['page'] = async ({ cursor, limit }) => {
    const listed = await blob.list({
      prefix,
      delimiter: '/',
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    });
    return { names: listed.prefixes.map((p) => p.slice(prefix.length, -1)), cursor: listed.cursor };
  };
  return {
    load: (job) => loadJob(blob, job),
    loadVersion: (key) => loadJobVersion(blob, key),
    save: (input, options) => saveJob(store, blob, input, options),
    delete: (job) => deleteJob(store, blob, job),
    exists: async (job) => (await blob.head(blobKeys.jobConfig(job))) !== null,
    page,
    async names() {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const next = await page(cursor ? { cursor } : {});
        names.push(...next.names);
        cursor = next.cursor;
      } while (cursor);
      return names;
    },
    withBuilds: () => childrenOrEmpty(store, zpaths.jobs()),
    node: (job) =>
      orNullOnNoNode(async () => {
        const { data } = await store.get(zpaths.job(job));
        return data.length ? decodeJson<JobNode>(data, 'a job node') : null;
      }),
    downstreamOf: (job) => downstreamJobs(store, job),
  };
}
