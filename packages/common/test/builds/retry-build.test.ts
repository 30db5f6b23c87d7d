import { memoryStore, tempBlobStore } from '@distci/testkit';
import t from 'tap';
import type { BuildRecord, StepRecord } from '../../src/builds/build-record.js';
import { type BuildState, decodeJson, newStepState, type StepState } from '../../src/builds/build-state.js';
import { failedSteps, retryBuild, retrySeeds } from '../../src/builds/retry-build.js';
import { stepPath } from '../../src/builds/step-ticket.js';
import { triggerBuild } from '../../src/builds/trigger-build.js';
import { blobKeys, zpaths } from '../../src/keys.js';

function step(id: string, needs: string[], state: Partial<StepState>): StepRecord {
  const { v: _v, ...base } = newStepState(1000);
  return { id, name: id, type: 'exec-shell', needs, matrix: null, labels: [], ...base, ...state };
}

// checkout → build → {unit, lint}; unit → publish; docs independent and failed.
const record: BuildRecord = {
  v: 1,
  job: 'web',
  number: 7,
  status: 'failure',
  trigger: { type: 'manual' },
  ref: 'refs/heads/main',
  commit: 'a'.repeat(40),
  params: { LEVEL: '2' },
  config: { key: blobKeys.jobConfigVersion('web', 'b'.repeat(64)), etag: 'b'.repeat(64) },
  createdAt: 1000,
  startedAt: 1001,
  finishedAt: 2000,
  cancel: null,
  steps: [
    step('checkout', [], { status: 'success', attempt: 1, workspace: 'ws/checkout', commit: 'a'.repeat(40) }),
    step('build', ['checkout'], { status: 'success', attempt: 2, workspace: 'ws/build', logChunks: 3 }),
    step('unit', ['build'], { status: 'failure', attempt: 1, exitCode: 1, reason: 'exit-code' }),
    step('lint', ['build'], { status: 'success', attempt: 1 }),
    step('publish', ['unit'], { status: 'skipped' }),
    step('docs', [], { status: 'failure', attempt: 1, exitCode: 2, reason: 'exit-code' }),
  ],
};

t.test('retrySeeds: the step and its dependents run again, every other step is copied as it ended', async (t) => {
  const { rerun, seeds } = retrySeeds(record, 'unit');
  t.same(rerun, ['unit', 'publish']);
  t.same(Object.keys(seeds).sort(), ['build', 'checkout', 'docs', 'lint']);
  t.match(seeds.build, { v: 1, status: 'success', attempt: 2, workspace: 'ws/build', logChunks: 3, copiedFrom: 7 });
  t.match(seeds.docs, { status: 'failure', copiedFrom: 7 });
  t.notOk('id' in seeds.build! || 'needs' in seeds.build!, 'a seed is a step state, not a record');
  // A copy of a copy names the build that really ran the step.
  const again = retrySeeds({ ...record, number: 8, steps: record.steps.map((s) => ({ ...s, copiedFrom: 3 })) }, 'docs');
  t.equal(again.seeds.checkout!.copiedFrom, 3);
  t.same(retrySeeds(record, 'checkout').rerun, ['checkout', 'build', 'unit', 'lint', 'publish']);
});

t.test(
  'retryBuild triggers the build with its seeds in one transaction, and refuses what it cannot retry',
  async (t) => {
    const store = await memoryStore(t, '/retry');
    const blob = await tempBlobStore(t, 'retry');
    // Builds 1..7 exist so the counter is past 7; 7 is archived, 8 is live.
    for (let i = 0; i < 8; i++) {
      await triggerBuild(store, { job: 'web', config: record.config, trigger: { type: 'manual' }, ref: null });
    }
    await blob.put(blobKeys.build('web', 7), JSON.stringify(record));

    const n = await retryBuild(store, blob, { job: 'web', build: 7, step: 'unit', by: 'ann' });
    t.equal(n, 9);
    const state = decodeJson<BuildState>((await store.get(zpaths.build('web', 9))).data);
    t.match(state, {
      trigger: { type: 'retry', of: 7, step: 'unit', by: 'ann' },
      ref: 'refs/heads/main',
      commit: 'a'.repeat(40),
      params: { LEVEL: '2' },
      config: record.config,
      status: 'queued',
    });
    t.same((await store.children(`${zpaths.build('web', 9)}/steps`)).sort(), ['build', 'checkout', 'docs', 'lint']);
    t.match(decodeJson<StepState>((await store.get(stepPath('web', 9, 'build'))).data), {
      status: 'success',
      workspace: 'ws/build',
      copiedFrom: 7,
    });

    await t.rejects(retryBuild(store, blob, { job: 'web', build: 7, step: 'lint' }), {
      code: 'DISTCI_STEP_NOT_RETRYABLE',
    });
    await t.rejects(retryBuild(store, blob, { job: 'web', build: 7, step: 'nope' }), { code: 'DISTCI_STEP_NOT_FOUND' });
    await t.rejects(retryBuild(store, blob, { job: 'web', build: 8, step: 'unit' }), {
      code: 'DISTCI_BUILD_NOT_FINISHED',
    });
    await t.rejects(retryBuild(store, blob, { job: 'web', build: 99, step: 'unit' }), {
      code: 'DISTCI_BUILD_NOT_FOUND',
    });
    t.same(
      await store.children(zpaths.builds('web')),
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `b-${String(i).padStart(10, '0')}`),
    );
  },
);

t.test('failed: every step that did not succeed and its dependents run again, in one build', async (t) => {
  // A build that ended with a failure, a timeout, a cancelled and a skipped step, and one left queued.
  const mixed: BuildRecord = {
    ...record,
    steps: [
      ...record.steps,
      step('slow', [], { status: 'failure', reason: 'timeout' }),
      step('gone', [], { status: 'cancelled', reason: 'cancelled' }),
      step('left', [], { status: 'queued' }),
      step('after-gone', ['gone'], { status: 'skipped' }),
    ],
  };
  t.same(failedSteps(mixed), ['unit', 'publish', 'docs', 'slow', 'gone', 'left', 'after-gone']);
  const { rerun, seeds } = retrySeeds(mixed, failedSteps(mixed));
  t.same(rerun, ['unit', 'publish', 'docs', 'slow', 'gone', 'left', 'after-gone']);
  t.same(Object.keys(seeds).sort(), ['build', 'checkout', 'lint']);

  const store = await memoryStore(t, '/retry-failed');
  const blob = await tempBlobStore(t, 'retry-failed');
  for (let i = 0; i < 8; i++) {
    await triggerBuild(store, { job: 'web', config: record.config, trigger: { type: 'manual' }, ref: null });
  }
  await blob.put(blobKeys.build('web', 7), JSON.stringify(mixed));
  const n = await retryBuild(store, blob, { job: 'web', build: 7, failed: true, by: 'ann' });
  t.equal(n, 9);
  const state = decodeJson<BuildState>((await store.get(zpaths.build('web', 9))).data);
  t.same(state.trigger, { type: 'retry', of: 7, failed: true, by: 'ann' });
  t.same((await store.children(`${zpaths.build('web', 9)}/steps`)).sort(), ['build', 'checkout', 'lint']);

  const green: BuildRecord = { ...record, number: 6, status: 'success', steps: [record.steps[0]!, record.steps[1]!] };
  green.steps = green.steps.map((s) => ({ ...s, status: 'success' }));
  await blob.put(blobKeys.build('web', 6), JSON.stringify(green));
  await t.rejects(retryBuild(store, blob, { job: 'web', build: 6, failed: true }), {
    code: 'DISTCI_STEP_NOT_RETRYABLE',
    message: /has no step that did not succeed/,
  });
});
