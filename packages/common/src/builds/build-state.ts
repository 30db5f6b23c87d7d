/**
 * A build's live state in the coordination store (invariant 6: only while it runs; then it is
 * archived to the object store as a `BuildRecord` and its nodes removed).
 *
 * ```
 * /jobs/<job>                          JobNode: the build counter and lastSuccessful
 * /jobs/<job>/builds/b-<n>             BuildState
 * /jobs/<job>/builds/b-<n>/steps        parent of the step states
 * /jobs/<job>/builds/b-<n>/steps/<id>  StepState: created `queued` in the transaction that posts the
 *                                      step's ticket, set to its result in the transaction that
 *                                      completes that ticket
 * /jobs/<job>/downstream/<job2>        job2 has an `after` trigger on job (reverse index)
 * ```
 */

import { parseRecord } from '../format-version.js';
import type { BuildStatus, FailureReason, WorkerKind } from '../types.js';

export interface JobNode {
  v: 1;
  /** The number the next build gets; never decreases (build numbers are never reused). */
  nextBuild: number;
  lastSuccessful: number | null;
  lastFinished: number | null;
}

export type TriggerInfo =
  | { type: 'manual'; by?: string }
  | {
      type: 'github';
      event: 'push' | 'pull_request';
      delivery: string;
      sender?: string;
      fork?: boolean;
      /** The repository's `owner/name`: the build's commit statuses are posted there. */
      repo?: string;
    }
  | {
      type: 'after';
      job: string;
      build: number;
      status: BuildStatus;
      /** How many `after` links led here (1: the upstream was not itself triggered by one). */
      depth?: number;
    }
  | ({ type: 'retry'; of: number; by?: string; fork?: boolean } & (
      | { step: string; failed?: undefined }
      /** Every step of `of` that did not succeed runs again (`retry --failed`). */
      | { failed: true; step?: undefined }
    ));

export interface BuildState {
  v: 1;
  job: string;
  number: number;
  status: Extract<BuildStatus, 'queued' | 'running'>;
  /** The object-store key and ETag of the job config this build runs. */
  config: { key: string; etag: string };
  trigger: TriggerInfo;
  /** The ref to build and, when known up front (webhooks), the exact commit. */
  ref: string | null;
  commit: string | null;
  params: Record<string, string>;
  createdAt: number;
  startedAt: number | null;
  /** ms since the epoch when the build times out; null for none. */
  deadline: number | null;
  /**
   * Set by a cancel request (or the build timeout); steps watch for it. `message`: why, in words, when
   * the canceller was not a person (`superseded by #N`: a newer build of its concurrency group).
   */
  cancel: { at: number; reason: 'cancelled' | 'timeout'; by?: string; message?: string } | null;
  /**
   * The build's concurrency group (job config `concurrency`), set in the control turn that joins it
   * (`concurrency-group.ts`); `waitingFor`: the build it waits for, null once it runs.
   */
  group?: { name: string; cancelInProgress: boolean; waitingFor: { job: string; build: number } | null };
  /**
   * When the delayed control tickets posted for this build fall due (the deadline, a step's queue
   * timeout): posted in the same transaction that adds the time here, removed when the build ends.
   */
  wakes?: number[];
  /** The last time control looked for steps waiting past their queue timeout. */
  queueCheckedAt?: number;
  /**
   * Set once the build's record is written while its nodes are removed over several turns (a plan
   * too big to remove in one transaction): the record is not written again.
   */
  ending?: { status: Exclude<BuildStatus, 'queued' | 'running'> };
  /** The priority the trigger asked for (0-9, 9 the most urgent): every ticket of the build gets it. */
  priority?: number;
}

/** The control ticket payloads. */
export type ControlPayload =
  | { op: 'start'; job: string; build: number }
  | { op: 'advance'; job: string; build: number }
  | { op: 'cancel'; job: string; build: number }
  /** A delayed ticket, due at `at` (the build's deadline or a step's queue timeout). */
  | { op: 'wake'; job: string; build: number; at: number }
  /** Post the build's commit status from its outbox (`commit-status.ts`); not a turn of the build. */
  | { op: 'report'; job: string; build: number };

export type StepStatus = 'queued' | 'success' | 'failure' | 'skipped' | 'cancelled';

export interface StepState {
  v: 1;
  status: StepStatus;
  attempt: number | null;
  worker: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  reason: FailureReason | null;
  /** Human-readable detail of a failure. */
  message: string | null;
  cacheHit: boolean | null;
  /** git-checkout: the exact commit. */
  commit: string | null;
  /** The object key of the workspace this step left, for its dependents. */
  workspace: string | null;
  /** publish-artifacts: how many files. */
  artifacts: number | null;
  /** How many log chunks the committed attempt wrote. */
  logChunks: number | null;
  /**
   * Set on a step copied into a retried build (`seedSteps`): the build that ran it. Its logs are that
   * build's (`attempt` is that build's attempt); its workspace and commit are reused as they are.
   */
  copiedFrom?: number;
  /**
   * The queue its ticket was posted to (set with the `queued` node, live only: not in the record), so a
   * build view can say why a queued step waits without reading the job config.
   */
  queue?: { kind: WorkerKind; labels: string[] };
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A stored JSON record; a record of a newer format version (`v`) is refused (DISTCI_NEWER_FORMAT). */
export function decodeJson<T>(bytes: Buffer, what = 'a stored record'): T {
  return parseRecord<T>(bytes, what);
}

export function newStepState(now = Date.now()): StepState {
  return {
    v: 1,
    status: 'queued',
    attempt: null,
    worker: null,
    queuedAt: now,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    reason: null,
    message: null,
    cacheHit: null,
    commit: null,
    workspace: null,
    artifacts: null,
    logChunks: null,
  };
}
