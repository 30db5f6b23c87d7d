/**
 * A hand-built `StepContext` for driving one step kind directly, without tickets or a runtime: the job
 * config goes through `parseJob` and `planBuild` as in a build, the log is a real `LogWriter` on the
 * given blob store, `signal` is a real `AbortController`'s, and `dir` is a fresh temp dir removed in
 * teardown. The coordination store defaults to a private embedded store (closed in teardown).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BlobStore,
  blobKeys,
  type CoordinationStore,
  openDistci,
  parseJob,
  planBuild,
  type StepPayload,
} from '@distci/common';
import { createEmbeddedStore } from '@distci/store-embedded';
import { readWholeLog } from '@distci/testkit';
import type { Test } from 'tap';
import { createLogWriter } from '../../src/steps/log-writer.js';
import { type StepContext, type StepStopReason, stepEnv } from '../../src/steps/step-handler.js';

/** A temp dir removed (with everything in it) in teardown. */
export async function tempDir(t: Test, tag = 'distci-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), tag));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestStepInput {
  /** A raw job config, validated with `parseJob`. */
  job: unknown;
  /**
   * A config as saved before `validate-limits.ts` (e.g. `into: "../x"`): skips those checks, so that
   * the step kinds' own defences can be tested.
   */
  legacy?: boolean;
  /** The planned step id to run (default: the job's first step). */
  step?: string;
  blob: BlobStore;
  /** Default: a private embedded store, closed in teardown. */
  store?: CoordinationStore;
  /** Default 1. */
  build?: number;
  /** Default 1. */
  attempt?: number;
  /** Overrides of the ticket payload (ref, commit, workspaces, upstream…). */
  payload?: Partial<StepPayload>;
  /** The step's working dir (default: a new temp dir, removed in teardown). */
  dir?: string;
  /** Default 'test-worker'. */
  worker?: string;
}

export interface TestStep {
  ctx: StepContext;
  /** Aborts `ctx.signal` as the step handler would (`ctx.stopReason()` then says why). */
  abort(reason: StepStopReason): void;
  /** Closes the log writer and returns everything the step logged. */
  logText(): Promise<string>;
}

export async function testStep(t: Test, input: TestStepInput): Promise<TestStep> {
  const job = parseJob(input.job, { limits: !input.legacy });
  const plan = planBuild(job);
  const planned = input.step === undefined ? plan[0] : plan.find((p) => p.id === input.step);
  if (!planned)
    throw new Error(`job '${job.name}' has no step '${input.step}'; steps are: ${plan.map((p) => p.id).join(', ')}`);
  const config = job.steps[planned.index]!;
  const build = input.build ?? 1;
  const attempt = input.attempt ?? 1;
  let store = input.store;
  if (!store) {
    const own = await createEmbeddedStore();
    t.teardown(() => own.close());
    store = own;
  }
  const dir = input.dir ?? (await tempDir(t, 'distci-step-'));
  const payload: StepPayload = {
    job: job.name,
    build,
    step: planned.id,
    index: planned.index,
    config: { key: blobKeys.jobConfigVersion(job.name, '0'.repeat(64)), etag: 'test' },
    ref: null,
    commit: null,
    workspaces: [],
    matrix: planned.matrix,
    deadline: null,
    upstream: null,
    ...input.payload,
  };
  const distci = openDistci({ store, blob: input.blob });
  const log = createLogWriter(distci.logs, { job: job.name, build, step: planned.id, attempt });
  const controller = new AbortController();
  let stop: StepStopReason | null = null;
  const ctx: StepContext = {
    payload,
    job,
    config,
    planned,
    attempt,
    worker: input.worker ?? 'test-worker',
    distci,
    dir,
    env: stepEnv(payload, planned, job),
    log,
    signal: controller.signal,
    timeLeftMs: null,
    stopReason: () => stop,
  };
  // A test that ends without reading its log still flushes it (no timer left behind).
  t.teardown(() => log.close().catch(() => {}));
  return {
    ctx,
    abort(reason) {
      stop ??= reason;
      controller.abort(reason);
    },
    async logText() {
      await log.close();
      const ref = { job: job.name, build, step: planned.id, attempt };
      return (await readWholeLog(input.blob, ref)).toString('utf8');
    },
  };
}
