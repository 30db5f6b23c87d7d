/**
 * Concurrency groups (job config `concurrency`) on real ZooKeeper + Ceph RGW with real workers: a
 * newer build of a `cancelInProgress` group cancels the older one ("superseded by #2"); without it,
 * the newer one waits, saying for which build, and runs once that one ended; builds triggered at once
 * through two control workers run one after the other.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildState, decodeJson, readBuild, zpaths } from '@distci/common';
import t from 'tap';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { tempDir } from './helpers/step-context.js';

/** Waits (watching the node, at most `ms`) until `check` holds for its data (null: no node). */
async function nodeUntil(
  c: TestCluster,
  path: string,
  what: string,
  check: (data: Buffer | null) => boolean,
  ms = 30_000,
) {
  const until = Date.now() + ms;
  for (;;) {
    const changed = new Promise<void>((resolve) => {
      void c.store
        .get(path, () => resolve())
        .then(
          ({ data }) => {
            if (check(data)) resolve();
          },
          () => {
            if (check(null)) resolve();
            // No node: watch for it; one created since the read above is looked at again at once.
            else void c.store.exists(path, () => resolve()).then((stat) => stat !== null && resolve());
          },
        );
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, until - Date.now()));
    });
    const outcome = await Promise.race([changed, timeout]);
    clearTimeout(timer);
    const data = await c.store.get(path).then(
      (r) => r.data,
      () => null,
    );
    if (check(data)) return;
    if (outcome === 'timeout') throw new Error(`gave up after ${ms} ms waiting for ${what}`);
  }
}

const state = (data: Buffer | null) => (data ? decodeJson<BuildState>(data) : null);

t.test('cancelInProgress: the newer build cancels the older one, which ends "superseded by #2"', async (t) => {
  const c = await startTestCluster(t, { control: 1 });
  await c.startWorker('exec-shell', { isolation: 'none' });
  await c.push({
    name: 'deploy',
    concurrency: { group: 'deploy-{{ ref }}', cancelInProgress: true },
    steps: [{ name: 'ship', type: 'exec-shell', run: 'if [ "$DISTCI_BUILD" = 1 ]; then sleep 120; fi; echo shipped' }],
  });
  t.equal(await c.trigger('deploy', 'main'), 1);
  await nodeUntil(c, zpaths.step('deploy', 1, 'ship'), '#1 to run its step', (d) => d !== null);
  t.equal(await c.trigger('deploy', 'main'), 2);
  const first = await c.finished('deploy', 1);
  t.equal(first.status, 'cancelled');
  t.match(first.cancel, { reason: 'cancelled', message: 'superseded by #2' });
  t.equal(first.steps[0]!.status, 'cancelled');
  const second = await c.finished('deploy', 2);
  t.equal(second.status, 'success');
  t.ok(second.startedAt! >= first.finishedAt!, 'the second started once the first had ended');
  t.same(await c.store.children(zpaths.groups()), [], 'the group is gone with its last build');
});

t.test('without cancelInProgress the newer build waits for the older one, saying so, then runs', async (t) => {
  const c = await startTestCluster(t, { control: 1 });
  await c.startWorker('exec-shell', { isolation: 'none' });
  const dir = await tempDir(t);
  await c.push({
    name: 'serial',
    concurrency: { group: '{{ job }}' },
    steps: [
      {
        name: 'work',
        type: 'exec-shell',
        // Holds until the test releases it (bounded: 30 s).
        run: `touch ${dir}/started-$DISTCI_BUILD; for i in $(seq 1 600); do [ -e ${dir}/release ] && exit 0; sleep 0.05; done; exit 1`,
      },
    ],
  });
  t.equal(await c.trigger('serial'), 1);
  await nodeUntil(c, zpaths.step('serial', 1, 'work'), '#1 to run its step', (d) => d !== null);
  t.equal(await c.trigger('serial'), 2);
  await nodeUntil(c, zpaths.build('serial', 2), '#2 to wait for #1', (d) => state(d)?.group?.waitingFor?.build === 1);
  const waiting = await readBuild(c.store, c.blob, 'serial', 2);
  t.match(waiting, { status: 'queued', waiting: "waiting for #1 of group 'serial'", steps: [] });
  t.same(await c.store.children(zpaths.steps('serial', 2)), [], 'no step of #2 is posted while #1 runs');

  await writeFile(join(dir, 'release'), '');
  const first = await c.finished('serial', 1);
  const second = await c.finished('serial', 2);
  t.equal(first.status, 'success');
  t.equal(second.status, 'success');
  t.notOk('queue' in first.steps[0]!, "a step's queue is live only: not in the record");
  t.ok(second.startedAt! >= first.finishedAt!, 'the second started once the first had ended');
  t.notOk('waiting' in (await readBuild(c.store, c.blob, 'serial', 2)), 'a finished build waits for nothing');
});

t.test('builds triggered at once through two control workers run one at a time', async (t) => {
  const c = await startTestCluster(t, { control: 2, 'exec-shell': 2 });
  await c.push({
    name: 'race',
    concurrency: { group: 'one-at-a-time' },
    steps: [
      { name: 'a', type: 'exec-shell', run: 'echo a' },
      { name: 'b', type: 'exec-shell', run: 'echo b', needs: ['a'] },
    ],
  });
  const numbers = await Promise.all([1, 2, 3, 4, 5].map(() => c.trigger('race')));
  const records = await Promise.all(numbers.map((n) => c.finished('race', n)));
  t.same(
    records.map((r) => r.status),
    Array(5).fill('success'),
  );
  const spans = records.map((r) => [r.startedAt!, r.finishedAt!] as const).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) {
    t.ok(spans[i]![0] >= spans[i - 1]![1], `build ${i + 1} of the group started after the one before ended`);
  }
  t.same(await c.store.children(zpaths.groups()), [], 'the group is gone with its last build');
});
