/**
 * `distci.builds`: trigger, read, list, cancel, retry — and what the frontend's live streams and the
 * step workers need of a build without naming its nodes: its state (one decoder), its archived
 * record, the watches that say it changed, a step's result writes, a step's workspace key.
 */
import type { BlobStore } from '../blob-store.js';
import type { BuildRecord } from '../builds/build-record.js';
import type { BuildState, StepState, TriggerInfo } from '../builds/build-state.js';
import { readBuildState } from '../builds/build-state-node.js';
import { cancelBuild } from '../builds/cancel-build.js';
import { type BuildView, listBuilds, readBuild, readBuildRecord } from '../builds/read-build.js';
import { type RetryRequest, retryBuild } from '../builds/retry-build.js';
import { type StepPayload, stepResult } from '../builds/step-ticket.js';
import { type TriggerRequest, triggerBuild } from '../builds/trigger-build.js';
import type { CoordinationStore, Watcher } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { loadJob } from '../jobs/job-store.js';
import { blobKeys, zpaths } from '../keys.js';
import type { TicketSpec } from '../tickets/ticket.js';
import { WORKER_KINDS } from '../types.js';
import type { TicketWrites } from './tickets-service.js';

/**
 * One-shot watches armed by path, each at most once at a time (the frontend's `WatchSet`): the
 * domain says *what* to watch, the caller owns the callbacks.
 */
export interface PathWatches {
  /** A data/existence watch on a node. */
  exists(path: string): Promise<void>;
  /** The node's children (empty when it does not exist, then watched for appearing), with a child watch. */
  children(path: string): Promise<string[]>;
}

export interface BuildsService {
  /** Triggers a build; returns its number. Triggers of one job from this process run one after the other. */
  trigger(req: TriggerRequest): Promise<number>;
  /** A build, live or archived; DISTCI_BUILD_NOT_FOUND when neither. */
  read(job: string, number: number): Promise<BuildView>;
  /**
   * Builds of a job, newest first. Never creates anything: a job that never had a build lists empty;
   * DISTCI_JOB_NOT_FOUND when the job does not exist either.
   */
  list(
    job: string,
    options?: { before?: number; limit?: number },
  ): Promise<{ builds: BuildView[]; next: number | null }>;
  /** Marks the build cancelled and posts the control ticket; false when it is not live. */
  cancel(job: string, number: number, by?: string): Promise<boolean>;
  /** A new build re-running a failed step and its dependents; returns its number. */
  retry(req: RetryRequest): Promise<number>;
  /** A live build's state and node version (null: not live), optionally watched (fires on change/delete). */
  state(job: string, number: number, watcher?: Watcher): Promise<{ state: BuildState; version: number } | null>;
  /** The archived record of a finished build, or null. */
  record(job: string, number: number): Promise<BuildRecord | null>;
  /** Whether build `number` finished (its record exists), without reading it. */
  finished(job: string, number: number): Promise<boolean>;
  /** The trigger of a build, live or archived; null when it is gone. */
  triggerOf(job: string, number: number): Promise<TriggerInfo | null>;
  /**
   * Arms the watches that fire when a live build changes: its node, its steps (posted, settled) and —
   * with `claims` (a step is queued) — the step kinds' claims (a step starting).
   */
  watch(watches: PathWatches, job: string, number: number, options: { claims: boolean }): Promise<void>;
  /** Arms the watches for one step: its node and, with `claims`, the step kinds' claims. */
  watchStep(
    watches: PathWatches,
    job: string,
    number: number,
    step: string,
    options: { claims: boolean },
  ): Promise<void>;
  /** The writes and successor recording a step's result with its ticket's end. */
  stepResult(payload: StepPayload, state: StepState): { writes: TicketWrites; successors: TicketSpec[] };
  /** Where this attempt of a step stores the workspace it leaves for its dependents. */
  workspaceKey(payload: StepPayload, attempt: number): string;
}

async function watchClaims(watches: PathWatches): Promise<void> {
  for (const kind of WORKER_KINDS) if (kind !== 'control') await watches.children(zpaths.claimKind(kind));
}

export function openBuilds(store: CoordinationStore, blob: BlobStore, caches: DomainCaches): BuildsService {
  return {
    trigger: (req) => triggerBuild(store, req, caches),
    read: (job, number) => readBuild(store, blob, job, number, caches),
    async list(job, options = {}) {
      if ((await store.exists(zpaths.job(job))) === null) {
        await loadJob(blob, job); // DISTCI_JOB_NOT_FOUND when there is no such job; else it never had a build
        return { builds: [], next: null };
      }
      return listBuilds(store, blob, job, options, caches);
    },
    cancel: (job, number, by) => cancelBuild(store, job, number, by, caches),
    retry: (req) => retryBuild(store, blob, req, caches),
    state: (job, number, watcher) => readBuildState(store, job, number, watcher),
    record: (job, number) => readBuildRecord(blob, job, number),
    finished: async (job, number) => (await blob.head(blobKeys.build(job, number))) !== null,
    async triggerOf(job, number) {
      const live = await readBuildState(store, job, number);
      if (live) return live.state.trigger;
      return (await readBuildRecord(blob, job, number))?.trigger ?? null;
    },
    async watch(watches, job, number, { claims }) {
      await watches.exists(zpaths.build(job, number));
      for (const step of await watches.children(zpaths.steps(job, number))) {
        await watches.exists(zpaths.step(job, number, step));
      }
      if (claims) await watchClaims(watches);
    },
    async watchStep(watches, job, number, step, { claims }) {
      await watches.exists(zpaths.step(job, number, step));
      if (claims) await watchClaims(watches);
    },
    stepResult(payload, state) {
      const { ops, successors } = stepResult(payload, state);
      return { writes: ops, successors };
    },
    workspaceKey: (payload, attempt) => blobKeys.workspace(payload.job, payload.build, payload.step, attempt),
  };
}
