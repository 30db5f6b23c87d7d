/**
 * A step of a live build made to look as a worker runs it — its step node and an ephemeral claim
 * carrying its payload, exactly what `readLiveBuild` reads — so that a test controls every chunk and
 * the moment the step ends, without a real worker's timing.
 */
import {
  type CoordinationStore,
  encodeJson,
  newStepState,
  type StepState,
  type StepStatus,
  stepPath,
  zpaths,
} from '@distci/common';

export interface FakeStep {
  /** Records the step's result (and drops the claim) in one transaction. */
  finish(status: StepStatus, logChunks: number): Promise<void>;
  /** The claim vanishes (the worker was lost); the step stays queued. */
  lose(): Promise<void>;
}

export async function fakeRunningStep(
  store: CoordinationStore,
  job: string,
  build: number,
  step: string,
  attempt = 1,
): Promise<FakeStep> {
  const path = stepPath(job, build, step);
  const exists = await store.exists(path);
  if (!exists) await store.create(path, encodeJson(newStepState()));
  await store.ensurePath(zpaths.claimKind('exec-shell'));
  const claim = zpaths.claim('exec-shell', `_~fake-${job}-${build}-${step}`, attempt);
  const startedAt = Date.now();
  await store.create(
    claim,
    encodeJson({ worker: 'fake-worker', startedAt, attempt, payload: { job, build, step } }),
    'ephemeral',
  );
  return {
    async finish(status, logChunks) {
      const state: StepState = {
        ...newStepState(startedAt),
        status,
        attempt,
        worker: 'fake-worker',
        startedAt,
        finishedAt: Date.now(),
        exitCode: status === 'success' ? 0 : 1,
        reason: status === 'success' ? null : 'exit-code',
        logChunks,
      };
      await store.multi([
        { type: 'delete', path: claim },
        { type: 'set', path, data: encodeJson(state) },
      ]);
    },
    async lose() {
      await store.delete(claim);
    },
  };
}
