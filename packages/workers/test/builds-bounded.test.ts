/**
 * Nothing hangs, nothing runs away (issue 13, holes 1, 2, 3, 5), on real ZooKeeper + Ceph RGW with
 * workers in-process (each its own session). Each of these hung or looped before its fix: the waits
 * here are bounded so that a regression fails with a message instead of hanging the suite.
 */
import { blobKeys, cancelBuild, isDistciError, triggerBuild, zpaths } from '@distci/common';
import t, { type Test } from 'tap';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

/** Fails the test with `what` when `promise` has not settled within `ms` (it would hang otherwise). */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** No build, step or ticket node of a finished build is left (invariant 6). */
async function assertNothingLeft(t: Test, c: TestCluster, jobs: string[]) {
  for (const job of jobs) t.same(await c.store.children(zpaths.builds(job)), [], `no live build of ${job}`);
  for (const kind of ['control', 'exec-shell'] as const) {
    const queues = await c.store.children(zpaths.ticketKind(kind)).catch(() => [] as string[]);
    for (const q of queues) {
      t.same(await c.store.children(`${zpaths.ticketKind(kind)}/${q}`), [], `no ${kind} ticket in ${q}`);
    }
  }
}

/** Resolves when `path` has at least `n` children (a children watch, re-armed on each change). */
async function childrenReach(c: TestCluster, path: string, n: number): Promise<number> {
  for (;;) {
    const changed = new Promise<void>((resolve) => {
      void c.store
        .children(path, () => resolve())
        .then(
          (names) => {
            if (names.length >= n) resolve();
          },
          () => setTimeout(resolve, 100), // not created yet: look again shortly
        );
    });
    await changed;
    const names = await c.store.children(path).catch(() => [] as string[]);
    if (names.length >= n) return names.length;
  }
}

t.test('hole 1: a 16-step × 256-value matrix (4,096 steps) is posted over bounded turns and cancels', async (t) => {
  const c = await startTestCluster(t, { control: 1 });
  const values = Array.from({ length: 256 }, (_, i) => `v${String(i).padStart(3, '0')}`);
  await c.push({
    name: 'wide',
    steps: Array.from({ length: 16 }, (_, i) => ({
      name: `step-${i}`,
      type: 'exec-shell',
      run: 'true',
      labels: ['nobody-has-this'],
      matrix: { value: values },
    })),
  });
  const started = Date.now();
  const n = await c.trigger('wide');
  // Before the fix: control's first turn was one ~3.5 MB multi; ZooKeeper dropped the connection on
  // it, fencedMulti retried at once forever and not one step was ever posted.
  const stepsPath = `${zpaths.build('wide', n)}/steps`;
  t.equal(await within(120_000, 'all 4,096 steps posted', childrenReach(c, stepsPath, 4096)), 4096);
  const postedMs = Date.now() - started;
  t.ok(await cancelBuild(c.store, 'wide', n, 'test'));
  const record = await within(180_000, 'the cancelled build ends', c.finished('wide', n));
  t.equal(record.status, 'cancelled');
  t.equal(record.steps.length, 4096);
  t.ok(
    record.steps.every((s) => s.status === 'cancelled'),
    'every waiting step dropped',
  );
  t.comment(`4,096 steps posted in ${postedMs} ms; cancelled and archived in ${Date.now() - started - postedMs} ms`);
  t.notOk(
    c.events.some((e) => e.type === 'error'),
    `no worker error: ${JSON.stringify(c.events.filter((e) => e.type === 'error').slice(0, 2))}`,
  );
  await assertNothingLeft(t, c, ['wide']);
});

t.test('hole 2: a control turn that cannot succeed ends its build `error` with the cause, at once', async (t) => {
  const c = await startTestCluster(t, { control: 1 });
  const missing = { key: blobKeys.jobConfigVersion('ghost', 'f'.repeat(64)), etag: 'f'.repeat(64) };
  const n = await triggerBuild(c.store, { job: 'ghost', config: missing, trigger: { type: 'manual' }, ref: null });
  // Before the fix: three fast failures deleted the control ticket and the build stayed `running`; then
  // three backed-off attempts of a turn no retry could change.
  const record = await within(60_000, 'the build ends', c.finished('ghost', n));
  t.equal(record.status, 'error');
  t.match(record.error, /control cannot advance this build: DISTCI_BLOB_NOT_FOUND: .*ghost\/versions\/f{64}/);
  t.equal(c.events.filter((e) => e.type === 'claimed').length, 1, 'one attempt: a retry would not help');
  await assertNothingLeft(t, c, ['ghost']);
});

t.test('hole 3: the build timeout counts while a step waits in the queue; a queue timeout fails it', async (t) => {
  const c = await startTestCluster(t, { control: 1, 'exec-shell': 1 });
  await c.push({
    name: 'two-seconds',
    timeout: '2s',
    steps: [{ name: 'gpu', type: 'exec-shell', run: 'true', labels: ['gpu'] }],
  });
  const started = Date.now();
  const n = await c.trigger('two-seconds');
  // Before the fix: nothing woke control at the deadline, and the build ran on for ever.
  const timedOut = await within(30_000, 'the build times out', c.finished('two-seconds', n));
  const took = Date.now() - started;
  t.equal(timedOut.status, 'failure');
  t.match(timedOut.steps[0], { status: 'cancelled', reason: 'timeout' });
  t.match(timedOut.steps[0]?.message, /timed out while this step waited for a worker/);
  t.ok(took >= 2000, `not before the deadline (${took} ms)`);
  t.comment(`a 2s build whose step nobody can run ended after ${took} ms`);

  await c.push({
    name: 'queue-bound',
    queueTimeout: '1s',
    steps: [
      { name: 'gpu', type: 'exec-shell', run: 'true', labels: ['gpu'] },
      { name: 'after-gpu', type: 'exec-shell', run: 'true', needs: ['gpu'] },
      { name: 'cpu', type: 'exec-shell', run: 'sleep 0.2' },
    ],
  });
  const m = await c.trigger('queue-bound');
  const queued = await within(30_000, 'the queue timeout ends the build', c.finished('queue-bound', m));
  t.equal(queued.status, 'failure');
  t.same(
    queued.steps.map((s) => [s.id, s.status, s.reason]),
    [
      ['gpu', 'failure', 'timeout'],
      ['after-gpu', 'skipped', null],
      ['cpu', 'success', null],
    ],
  );
  t.match(queued.steps[0]?.message, /waited \d+s for a exec-shell worker with labels gpu; its queue timeout is 1s/);
  await assertNothingLeft(t, c, ['two-seconds', 'queue-bound']);
});

t.test('hole 5: after-trigger cycles are refused at save time, naming the cycle', async (t) => {
  const c = await startTestCluster(t, {});
  const job = (name: string, after: string) => ({
    name,
    triggers: { after: [{ job: after, on: 'always' }] },
    steps: [{ name: 's', type: 'exec-shell', run: 'true' }],
  });
  const refused = async (config: unknown, cycle: RegExp) => {
    try {
      await c.push(config);
      t.fail(`${JSON.stringify(config)} was accepted`);
    } catch (err) {
      t.ok(isDistciError(err, 'DISTCI_TRIGGER_CYCLE'), `refused with DISTCI_TRIGGER_CYCLE: ${String(err)}`);
      t.match((err as Error).message, cycle);
    }
  };
  await c.push(job('a', 'b'));
  // Before the fix: accepted; a build of either then triggered the other for ever.
  await refused(job('b', 'a'), /b → a → b/);
  await refused(job('self', 'self'), /'self' cannot be triggered after itself/);
  await c.push(job('x', 'z'));
  await c.push(job('y', 'x'));
  await refused(job('z', 'y'), /z → x → y → z/);
  await c.push(job('z', 'a')); // no cycle: z → x → y, a's upstream is b
});
