/**
 * A hand-built `StepContext` for driving the exec-shell kind without a coordination store: a job
 * config validated by `parseJob`, the planned step from `planBuild`, the real step environment
 * (`stepEnv`), a real `LogWriter` on the given blob store, a temp workspace (removed in teardown) and
 * an AbortController whose `stop(reason)` plays the step handler's cancel / timeout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  type CoordinationStore,
  type ExecShellStep,
  openDistci,
  parseJob,
  planBuild,
  type StepPayload,
} from '@distci/common';
import { readLogChunks, uniqueName } from '@distci/testkit';
import type { Test } from 'tap';
import { createLogWriter, type StepContext, type StepStopReason, stepEnv } from '../../src/steps/index.js';

export interface ShellStepOptions {
  blob: BlobStore;
  run: string;
  /** Extra fields of the exec-shell step (env, matrix, …). */
  step?: Partial<ExecShellStep>;
  /** The job's env. */
  env?: Record<string, string>;
  /** Which planned step (a matrix expands to several; default the first). */
  planned?: number;
  commit?: string;
  /** Log writer options (default: its own defaults). */
  chunkBytes?: number;
  flushMs?: number;
}

export interface ShellStep {
  ctx: StepContext;
  /** The workspace (cwd of the script). */
  dir: string;
  /** Aborts the step's signal as the step handler would. */
  stop(reason: StepStopReason): void;
  /** Closes the log (as the step handler does after `run`); returns the chunk count. */
  closeLog(): Promise<number>;
  /** Every log chunk of the step in the object store, in order. */
  chunks(): Promise<Buffer[]>;
}

/** A store that fails loudly if the kind touches it: exec-shell needs no coordination. */
const noStore = new Proxy({} as CoordinationStore, {
  get(_target, name) {
    throw new Error(`the exec-shell kind used the coordination store (${String(name)})`);
  },
});

export async function shellStep(t: Test, options: ShellStepOptions): Promise<ShellStep> {
  const job = parseJob({
    name: uniqueName('job'),
    ...(options.env ? { env: options.env } : {}),
    steps: [{ name: 'sh', type: 'exec-shell', run: options.run, ...options.step }],
  });
  const planned = planBuild(job)[options.planned ?? 0]!;
  const payload: StepPayload = {
    job: job.name,
    build: 7,
    step: planned.id,
    index: planned.index,
    config: { key: `jobs/${job.name}/versions/test.json`, etag: 'test' },
    ref: 'main',
    commit: options.commit ?? '0123456789abcdef0123456789abcdef01234567',
    workspaces: [],
    matrix: planned.matrix,
    deadline: null,
    upstream: null,
  };
  const dir = await mkdtemp(join(tmpdir(), 'distci-test-ws-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const target = { job: job.name, build: payload.build, step: planned.id, attempt: 1 };
  const distci = openDistci({ store: noStore, blob: options.blob });
  const log = createLogWriter(distci.logs, target, {
    ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
    ...(options.flushMs ? { flushMs: options.flushMs } : {}),
  });
  // A test that fails before closing its log still flushes it (no timer left behind).
  t.teardown(() => log.close().catch(() => {}));
  const controller = new AbortController();
  let stopped: StepStopReason | null = null;
  const ctx: StepContext = {
    payload,
    job,
    config: job.steps[planned.index]!,
    planned,
    attempt: 1,
    worker: 'test-worker',
    distci,
    dir,
    env: stepEnv(payload, planned, job),
    log,
    signal: controller.signal,
    timeLeftMs: null,
    stopReason: () => stopped,
  };
  return {
    ctx,
    dir,
    stop(reason) {
      stopped ??= reason;
      controller.abort(reason);
    },
    closeLog: () => log.close(),
    async chunks() {
      return readLogChunks(options.blob, target);
    },
  };
}
