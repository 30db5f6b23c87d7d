/**
 * Retry one failed step of a finished build: a new build of the same config version, ref, commit and
 * params, with trigger `{type: 'retry', of, step}`, in which only the retried step and the steps that
 * need it (transitively) run again. Every other step is copied from the archived record into the new
 * build as it ended there (`seedSteps`: workspace, commit, artifacts and log pointer included, with
 * `copiedFrom` naming the build that ran it), in the trigger's own transaction.
 *
 * Why copy the other steps as they ended, not only the successful ones: a retry is targeted. If two
 * independent steps failed, retrying one must not silently re-run the other; the new build then fails
 * again until that one is retried too (in the new build, where the first is now copied as succeeded).
 *
 * Retry the failed steps (`failed: true`): every step that did not succeed (failed, timed out,
 * cancelled, skipped, or left queued by a build that ended in error) runs again in ONE new build, with
 * its dependents; the successful ones are copied. Trigger `{type: 'retry', of, failed: true}`.
 *
 * Input: the job, the finished build's number, a planned step id (`test[cc=gcc]`) or `failed: true`.
 * Output: the new build's number. Reads the archived record (one object-store GET); writes one multi
 * (`triggerBuild`). Errors: DISTCI_BUILD_NOT_FOUND, DISTCI_BUILD_NOT_FINISHED (still live),
 * DISTCI_STEP_NOT_FOUND, DISTCI_STEP_NOT_RETRYABLE (the step did not fail; with `failed`, every step
 * succeeded).
 */
import type { BlobStore } from '../blob-store.js';
import type { CoordinationStore } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { distciError } from '../errors.js';
import type { BuildRecord } from './build-record.js';
import type { StepState } from './build-state.js';
import { readBuildRecord, readLiveBuild } from './read-build.js';
import { triggerBuild } from './trigger-build.js';

export type RetryRequest = {
  job: string;
  /** The finished build whose step (or failed steps) is retried. */
  build: number;
  by?: string;
} & (
  | {
      /** The planned step id. */
      step: string;
      failed?: undefined;
    }
  | {
      /** Every step that did not succeed, at once. */
      failed: true;
      step?: undefined;
    }
);

/** The steps a `failed` retry runs again (with their dependents): every one that did not succeed. */
export function failedSteps(record: BuildRecord): string[] {
  return record.steps.filter((s) => s.status !== 'success').map((s) => s.id);
}

/**
 * The step ids that run again (the step and everything needing it, transitively) and the states of the
 * others, copied. Pure: from the record alone.
 */
export function retrySeeds(
  record: BuildRecord,
  steps: string | readonly string[],
): { rerun: string[]; seeds: Record<string, StepState> } {
  const rerun = new Set(typeof steps === 'string' ? [steps] : steps);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of record.steps) {
      if (!rerun.has(s.id) && s.needs.some((n) => rerun.has(n))) {
        rerun.add(s.id);
        grew = true;
      }
    }
  }
  const seeds: Record<string, StepState> = {};
  for (const s of record.steps) {
    if (rerun.has(s.id)) continue;
    const { id: _i, name: _n, type: _t, needs: _d, matrix: _m, labels: _l, ...state } = s;
    seeds[s.id] = { ...state, v: 1, copiedFrom: s.copiedFrom ?? record.number };
  }
  return { rerun: record.steps.filter((s) => rerun.has(s.id)).map((s) => s.id), seeds };
}

export async function retryBuild(
  store: CoordinationStore,
  blob: BlobStore,
  req: RetryRequest,
  caches?: DomainCaches,
): Promise<number> {
  const { job, build, step } = req;
  const record = await readBuildRecord(blob, job, build);
  if (!record) {
    if (await readLiveBuild(store, job, build)) {
      throw distciError('DISTCI_BUILD_NOT_FINISHED', `build ${build} of '${job}' is still running`, {
        hint: 'wait for it to finish, or cancel it, then retry the step',
        details: { job, build },
      });
    }
    throw distciError('DISTCI_BUILD_NOT_FOUND', `job '${job}' has no build ${build}`, {
      hint: `list its builds with GET /api/v1/jobs/${job}/builds`,
      details: { job, build },
    });
  }
  let roots: string[];
  if (req.failed) {
    roots = failedSteps(record);
    if (roots.length === 0) {
      throw distciError('DISTCI_STEP_NOT_RETRYABLE', `build ${build} of '${job}' has no step that did not succeed`, {
        hint: 'trigger a new build to run everything again',
        details: { job, build, status: record.status },
      });
    }
  } else {
    const target = record.steps.find((s) => s.id === step);
    if (!target) {
      throw distciError('DISTCI_STEP_NOT_FOUND', `build ${build} of '${job}' has no step '${step}'`, {
        hint: `steps are: ${record.steps.map((s) => s.id).join(', ')}`,
        details: { job, build, step },
      });
    }
    if (target.status !== 'failure') {
      throw distciError(
        'DISTCI_STEP_NOT_RETRYABLE',
        `step '${step}' of build ${build} of '${job}' is ${target.status}`,
        {
          hint: 'only a failed step can be retried; retry the failed steps to re-run every step that did not succeed',
          details: { job, build, step, status: target.status },
        },
      );
    }
    roots = [target.id];
  }
  const { seeds } = retrySeeds(record, roots);
  return triggerBuild(
    store,
    {
      job,
      config: record.config,
      trigger: {
        type: 'retry',
        of: build,
        ...(req.failed ? { failed: true as const } : { step: roots[0]! }),
        ...(req.by ? { by: req.by } : {}),
        // A retry of a fork's pull request build is still the fork's code: it gets no secrets either.
        ...('fork' in record.trigger && record.trigger.fork ? { fork: true } : {}),
      },
      ref: record.ref,
      commit: record.commit,
      params: record.params,
      seedSteps: seeds,
    },
    caches,
  );
}
