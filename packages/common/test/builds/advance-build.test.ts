/**
 * The build state machine on plain data: no store, no clock — every rule of `advanceBuild` and
 * `downstreamTriggers` as a (state, plan, step results, now) → decision table.
 */
import t from 'tap';
import {
  type AdvanceInput,
  advanceBuild,
  DEFAULT_BUILD_TIMEOUT_MS,
  needsWaiting,
} from '../../src/builds/advance-build.js';
import { type BuildState, newStepState, type StepState } from '../../src/builds/build-state.js';
import { downstreamTriggers, MAX_TRIGGER_DEPTH } from '../../src/builds/downstream-triggers.js';
import { retrySeeds } from '../../src/builds/retry-build.js';
import type { JobConfig } from '../../src/jobs/job-config.js';
import { planBuild } from '../../src/jobs/plan-build.js';

const T0 = 1_700_000_000_000;

const job: JobConfig = {
  name: 'app',
  repository: { url: 'https://example.com/app.git', ref: 'main' },
  timeout: '10m',
  queueTimeout: '2m',
  steps: [
    { name: 'checkout', type: 'git-checkout' },
    { name: 'test', type: 'exec-shell', run: 'make test', needs: ['checkout'], matrix: { cc: ['gcc', 'clang'] } },
    { name: 'publish', type: 'publish-artifacts', paths: ['dist/**'], needs: ['test'] },
  ],
};
const plan = planBuild(job);

function build(over: Partial<BuildState> = {}): BuildState {
  return {
    v: 1,
    job: 'app',
    number: 7,
    status: 'running',
    config: { key: 'jobs/app/versions/abc.json', etag: 'abc' },
    trigger: { type: 'manual' },
    ref: 'main',
    commit: null,
    params: {},
    createdAt: T0,
    startedAt: T0,
    deadline: T0 + 600_000,
    cancel: null,
    ...over,
  };
}

const queued = (at = T0): StepState => newStepState(at);
const done = (status: StepState['status'], extra: Partial<StepState> = {}): StepState => ({
  ...newStepState(T0),
  status,
  startedAt: T0 + 1000,
  finishedAt: T0 + 2000,
  reason: status === 'failure' ? 'exit-code' : null,
  ...extra,
});

function advance(over: Partial<Omit<AdvanceInput, 'steps'>> & { steps?: Record<string, StepState> }) {
  const { steps, ...rest } = over;
  return advanceBuild({
    build: build(),
    config: job,
    plan,
    now: T0 + 5000,
    ...rest,
    steps: new Map(Object.entries(steps ?? {})),
  });
}

t.test('start: a queued build runs, its deadline counts from the trigger, and a wake-up is set for it', async (t) => {
  const r = advance({ build: build({ status: 'queued', startedAt: null, deadline: null }), now: T0 + 3000 });
  t.equal(r.build.status, 'running');
  t.equal(r.build.startedAt, T0 + 3000);
  t.equal(r.build.deadline, T0 + 600_000, 'createdAt + 10m, not startedAt + 10m');
  t.same(
    r.dispatch.map((d) => d.step),
    ['checkout'],
  );
  t.match(r.dispatch[0]!.spec, { kind: 'git-checkout', payload: { job: 'app', build: 7, step: 'checkout' } });
  t.equal(r.dispatch[0]!.payload.deadline, T0 + 600_000);
  t.equal(r.wakeAt, T0 + 3000 + 120_000, 'the first thing due: the checkout queue timeout (2m)');
  t.same(r.build.wakes, [T0 + 123_000]);
  t.ok(r.changed);
  t.equal(r.status, null);

  const unbounded = advance({
    build: build({ status: 'queued', startedAt: null, deadline: null }),
    config: { ...job, timeout: undefined },
  });
  t.equal(unbounded.build.deadline, T0 + DEFAULT_BUILD_TIMEOUT_MS, 'a job without a timeout gets the default');
});

t.test("a trigger's priority goes to every step ticket; without one, each step's own", async (t) => {
  const urgent = advance({ build: build({ status: 'queued', startedAt: null, deadline: null, priority: 9 }) });
  t.equal(urgent.dispatch[0]!.spec.priority, 9, 'the build asked for 9');
  const plain = advance({ build: build({ status: 'queued', startedAt: null, deadline: null }) });
  t.equal(plain.dispatch[0]!.spec.priority, undefined, "the step's own (none here: the queue's default, 5)");
  const own = advance({
    build: build({ status: 'queued', startedAt: null, deadline: null }),
    config: { ...job, steps: [{ ...job.steps[0]!, priority: 2 }, ...job.steps.slice(1)] },
  });
  t.equal(own.dispatch[0]!.spec.priority, 2);
});

t.test('all steps succeed: runnable in order, then success with a record and every node removed', async (t) => {
  const afterCheckout = advance({
    build: build({ wakes: [T0 + 120_000] }),
    steps: { checkout: done('success', { commit: 'c0ffee', workspace: 'ws/checkout' }) },
  });
  t.same(
    afterCheckout.dispatch.map((d) => d.step),
    ['test[cc=gcc]', 'test[cc=clang]'],
  );
  t.same(afterCheckout.dispatch[0]!.payload.workspaces, ['ws/checkout']);
  t.equal(afterCheckout.dispatch[0]!.payload.commit, 'c0ffee');
  t.same(afterCheckout.dispatch[0]!.spec.labels, []);
  t.equal(afterCheckout.wakeAt, null, 'a wake-up is already posted before the next thing due');

  const halfway = advance({
    steps: { checkout: done('success'), 'test[cc=gcc]': done('success'), 'test[cc=clang]': queued() },
  });
  t.same(halfway.dispatch, [], 'publish waits for every combination');
  t.equal(halfway.status, null);

  const steps = {
    checkout: done('success'),
    'test[cc=gcc]': done('success'),
    'test[cc=clang]': done('success'),
    publish: done('success'),
  };
  const end = advance({ build: build({ wakes: [T0 + 600_000] }), steps });
  t.equal(end.status, 'success');
  t.ok(end.removeBuild);
  t.same(end.remove.sort(), Object.keys(steps).sort());
  t.equal(end.record?.status, 'success');
  t.same(
    end.record?.steps.map((s) => [s.id, s.status]),
    Object.entries(steps).map(([id, s]) => [id, s.status]),
  );
  t.equal(end.record?.finishedAt, T0 + 2000, 'the last step end, not now: the same record if written twice');
  t.same(end.build.wakes, [T0 + 600_000], 'the pending wake-up is named, so its ticket is deleted with the build');
  t.same(end.dispatch, []);
});

t.test('a failure skips its dependents down the chain, and the build fails', async (t) => {
  const r = advance({
    steps: { checkout: done('success'), 'test[cc=gcc]': done('failure', { exitCode: 2 }), 'test[cc=clang]': queued() },
  });
  t.same(r.dispatch, []);
  t.same(
    r.settle.map((s) => [s.step, s.state.status]),
    [['publish', 'skipped']],
  );
  t.equal(r.status, null, 'clang still runs');

  const checkoutFailed = advance({ steps: { checkout: done('failure') } });
  t.same(
    checkoutFailed.record?.steps.map((s) => [s.id, s.status]),
    [
      ['checkout', 'failure'],
      ['test[cc=gcc]', 'skipped'],
      ['test[cc=clang]', 'skipped'],
      ['publish', 'skipped'],
    ],
    'the skip propagates through the matrix to publish in one turn',
  );
  t.equal(checkoutFailed.status, 'failure');
  t.same(checkoutFailed.settle, [], 'nothing is created when the build ends in the same turn');
  t.same(checkoutFailed.remove, ['checkout']);

  const infra = advance({ steps: { checkout: done('failure', { reason: 'infrastructure' }) } });
  t.equal(infra.status, 'error', 'an infrastructure failure makes the build an error');
});

t.test('cancel while queued: waiting tickets are dropped, the rest cancelled, the build ends', async (t) => {
  const cancelled = build({ cancel: { at: T0 + 4000, reason: 'cancelled', by: 'ann' } });
  const input = { build: cancelled, steps: new Map([['checkout', queued()]]), config: job, plan, now: T0 + 5000 };
  t.ok(needsWaiting(input), 'the caller must look which tickets still wait');
  const r = advance({ build: cancelled, steps: { checkout: queued() }, waiting: new Set(['checkout']) });
  t.same(r.drop, [{ step: 'checkout', state: null }], 'the ticket goes; its node is removed with the build');
  t.equal(r.status, 'cancelled');
  t.same(
    r.record?.steps.map((s) => [s.id, s.status, s.reason]),
    [
      ['checkout', 'cancelled', 'cancelled'],
      ['test[cc=gcc]', 'cancelled', 'cancelled'],
      ['test[cc=clang]', 'cancelled', 'cancelled'],
      ['publish', 'cancelled', 'cancelled'],
    ],
  );
  t.notOk(r.announce, 'the cancel was written by the request already');
  t.ok(r.removeBuild);
});

t.test('cancel while running: a claimed step is left to its worker; the build ends when it reports', async (t) => {
  const cancelled = build({ cancel: { at: T0 + 4000, reason: 'cancelled' } });
  const running = advance({
    build: cancelled,
    steps: { checkout: done('success'), 'test[cc=gcc]': queued(), 'test[cc=clang]': queued() },
    waiting: new Set(['test[cc=clang]']),
  });
  t.same(
    running.drop.map((d) => [d.step, d.state?.status]),
    [['test[cc=clang]', 'cancelled']],
  );
  t.same(
    running.settle.map((s) => [s.step, s.state.status]),
    [['publish', 'cancelled']],
  );
  t.equal(running.status, null, 'gcc is running: its worker sees the cancel and reports');
  t.same(running.dispatch, []);
  t.equal(running.wakeAt, null, 'no wake-up for a cancelled build');

  const reported = advance({
    build: cancelled,
    steps: {
      checkout: done('success'),
      'test[cc=gcc]': done('cancelled', { reason: 'cancelled' }),
      'test[cc=clang]': done('cancelled', { reason: 'cancelled' }),
      publish: done('cancelled', { reason: 'cancelled' }),
    },
  });
  t.equal(reported.status, 'cancelled');
  t.ok(reported.removeBuild);
});

t.test('build timeout while a step waits in the queue: the build is cancelled for timeout and fails', async (t) => {
  const b = build({ wakes: [T0 + 600_000] });
  const steps = { checkout: done('success'), 'test[cc=gcc]': queued(T0 + 3000), 'test[cc=clang]': queued(T0 + 3000) };
  const early = advance({ build: b, steps, now: T0 + 599_999 });
  t.equal(early.build.cancel, null, 'not before the deadline');
  const input = { build: b, steps: new Map(Object.entries(steps)), config: job, plan, now: T0 + 600_000 };
  t.ok(needsWaiting(input));
  const r = advance({
    build: b,
    steps,
    now: T0 + 600_000,
    wokeFor: T0 + 600_000,
    waiting: new Set(['test[cc=gcc]', 'test[cc=clang]']),
  });
  t.same(r.build.cancel, { at: T0 + 600_000, reason: 'timeout' });
  t.ok(r.announce, 'written first, so any running step stops at once');
  t.equal(r.status, 'failure');
  t.same(
    r.record?.steps.map((s) => [s.id, s.status, s.reason]),
    [
      ['checkout', 'success', null],
      ['test[cc=gcc]', 'cancelled', 'timeout'],
      ['test[cc=clang]', 'cancelled', 'timeout'],
      ['publish', 'cancelled', 'timeout'],
    ],
  );
  t.same(r.build.wakes, [], 'the wake-up it ran for is spent');
});

t.test('queue timeout: a step nobody claims fails with the labels it waited for', async (t) => {
  const gpu: JobConfig = {
    name: 'gpu',
    queueTimeout: '30s',
    steps: [
      { name: 'train', type: 'exec-shell', run: 'train', labels: ['gpu'] },
      { name: 'report', type: 'exec-shell', run: 'report', needs: ['train'] },
    ],
  };
  const gpuPlan = planBuild(gpu);
  const steps = new Map([['train', queued(T0)]]);
  const base = { build: build({ job: 'gpu' }), config: gpu, plan: gpuPlan, steps };
  t.notOk(needsWaiting({ ...base, now: T0 + 29_999 }), 'not due yet: no need to read the queues');
  t.ok(needsWaiting({ ...base, now: T0 + 30_000 }));
  const running = advanceBuild({ ...base, now: T0 + 30_000, waiting: new Set() });
  t.same(running.drop, [], 'claimed meanwhile: it runs');
  t.equal(running.build.queueCheckedAt, T0 + 30_000);
  t.notOk(needsWaiting({ ...base, build: running.build, now: T0 + 40_000 }), 'a running step is not looked at again');

  const r = advanceBuild({ ...base, now: T0 + 30_000, waiting: new Set(['train']) });
  t.same(
    r.record?.steps.map((s) => [s.id, s.status, s.reason]),
    [
      ['train', 'failure', 'timeout'],
      ['report', 'skipped', null],
    ],
  );
  t.match(r.record?.steps[0]?.message, /waited 30s for a exec-shell worker with labels gpu; its queue timeout is 30s/);
  t.equal(r.status, 'failure');
  t.same(r.drop, [{ step: 'train', state: null }]);
});

t.test('retry of one step: the seeded steps are done, only the retried one and its dependents run', async (t) => {
  const first = advance({
    steps: {
      checkout: done('success', { workspace: 'ws/c' }),
      'test[cc=gcc]': done('success'),
      'test[cc=clang]': done('failure'),
      publish: done('skipped'),
    },
  });
  const { seeds, rerun } = retrySeeds(first.record!, 'test[cc=clang]');
  t.same(rerun, ['test[cc=clang]', 'publish']);
  const retried = advance({
    build: build({ number: 8, trigger: { type: 'retry', of: 7, step: 'test[cc=clang]' } }),
    steps: seeds,
  });
  t.same(
    retried.dispatch.map((d) => d.step),
    ['test[cc=clang]'],
    'checkout and gcc are copied, not run',
  );
  t.same(retried.dispatch[0]!.payload.workspaces, ['ws/c'], 'the copied checkout workspace is reused');
});

t.test('turns are bounded: a plan too big for one transaction is posted, settled and removed over turns', async (t) => {
  const wide: JobConfig = {
    name: 'wide',
    steps: Array.from({ length: 16 }, (_, i) => ({
      name: `s${i}`,
      type: 'exec-shell' as const,
      run: 'true',
      matrix: { v: Array.from({ length: 256 }, (_, j) => `value-${j}`) },
    })),
  };
  const widePlan = planBuild(wide);
  t.equal(widePlan.length, 4096);
  const steps = new Map<string, StepState>();
  let b = build({ job: 'wide', status: 'queued', startedAt: null, deadline: null });
  let turns = 0;
  for (;;) {
    const r = advanceBuild({ build: b, config: wide, plan: widePlan, steps, now: T0 + 1000 });
    turns++;
    t.ok(r.dispatch.length <= 400, `turn ${turns}: ${r.dispatch.length} posts`);
    for (const d of r.dispatch) steps.set(d.step, d.state);
    b = r.build;
    if (!r.more) break;
    if (turns > 100) throw new Error('no end');
  }
  t.equal(steps.size, 4096, `every step posted, in ${turns} turns`);
  t.ok(turns >= 8, 'not in one transaction');

  for (const id of steps.keys()) steps.set(id, done('success'));
  let removed = 0;
  let ending = 0;
  for (;;) {
    const r = advanceBuild({ build: b, config: wide, plan: widePlan, steps, now: T0 + 9000 });
    if (r.record) t.equal(r.record.steps.length, 4096, 'the record is written once, in the first ending turn');
    for (const id of r.remove) steps.delete(id);
    removed += r.remove.length;
    b = r.build;
    ending++;
    if (r.removeBuild) {
      t.equal(r.status, 'success');
      break;
    }
    t.ok(b.ending, 'marked ending while its nodes go');
    t.ok(r.more);
    if (ending > 100) throw new Error('no end');
  }
  t.equal(removed, 4096);
  t.ok(ending > 1, `removed over ${ending} turns`);
});

t.test('chaining: success, failure and always triggers; depth and fan-out are bounded', async (t) => {
  const after = (on?: 'success' | 'failure' | 'always') => ({
    name: 'x',
    steps: [{ name: 's', type: 'exec-shell' as const, run: 'true' }],
    triggers: { after: [{ job: 'app', ...(on ? { on } : {}) }] },
  });
  const candidates = [
    { job: 'on-success', config: after() },
    { job: 'on-failure', config: after('failure') },
    { job: 'on-always', config: after('always') },
    { job: 'app', config: after('always') },
  ];
  const up = build();
  t.same(
    downstreamTriggers(up, 'success', candidates).fire.map((f) => f.job),
    ['on-always', 'on-success'],
    'success: default and always; never the job itself',
  );
  t.same(
    downstreamTriggers(up, 'failure', candidates).fire.map((f) => f.job),
    ['on-always', 'on-failure'],
  );
  t.same(
    downstreamTriggers(up, 'cancelled', candidates).fire.map((f) => f.job),
    ['on-always', 'on-failure'],
  );
  t.same(downstreamTriggers(up, 'success', candidates).fire[0]!.trigger, {
    type: 'after',
    job: 'app',
    build: 7,
    status: 'success',
  });
  const second = build({ trigger: { type: 'after', job: 'lib', build: 3, status: 'success' } });
  t.equal(downstreamTriggers(second, 'success', candidates).fire[0]!.trigger.depth, 2, 'the depth grows per link');
  const deep = build({ trigger: { type: 'after', job: 'lib', build: 3, status: 'success', depth: MAX_TRIGGER_DEPTH } });
  const refused = downstreamTriggers(deep, 'success', candidates);
  t.same(refused.fire, []);
  t.match(refused.refused[0]!.why, /17 builds long; at most 16/);
  const many = Array.from({ length: 40 }, (_, i) => ({ job: `d${String(i).padStart(2, '0')}`, config: after() }));
  const wide = downstreamTriggers(up, 'success', many);
  t.equal(wide.fire.length, 32);
  t.equal(wide.refused.length, 8);
});
