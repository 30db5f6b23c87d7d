/**
 * Builds end to end (issue 4's acceptance), on real ZooKeeper + Ceph RGW, real git repositories made
 * here, real processes: every step done by its own kind of worker, each worker its own session.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactManifest } from '@distci/common';
import { blobKeys, cancelBuild, readBlob, zpaths } from '@distci/common';
import { readWholeLog, webJob } from '@distci/testkit';
import t, { type Test } from 'tap';
import { ONE_OF_EACH, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { testRepo } from './helpers/git-repo.js';
import { tempDir } from './helpers/step-context.js';

/** A process that exited but is not reaped yet (a zombie: PID 1 reaps slowly here) counts as gone. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function logOf(c: TestCluster, job: string, build: number, step: string, attempt: number): Promise<string> {
  return (await readWholeLog(c.blob, { job, build, step, attempt })).toString('utf8');
}

/** No build, step or ticket node of a finished build is left (invariant 6). */
async function assertNothingLeft(t: Test, c: TestCluster, jobs: string[]) {
  for (const job of jobs) t.same(await c.store.children(zpaths.builds(job)), [], `no live build of ${job}`);
  for (const kind of ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const) {
    const queues = await c.store.children(zpaths.ticketKind(kind)).catch(() => [] as string[]);
    for (const q of queues)
      t.same(await c.store.children(`${zpaths.ticketKind(kind)}/${q}`), [], `no ${kind} ticket in ${q}`);
    t.same(await c.store.children(zpaths.claimKind(kind)).catch(() => []), [], `no ${kind} claim`);
  }
}

t.test('the contract job: checkout, copy from lib, a 2×2-able matrix, publish; lib → web via after', async (t) => {
  const c = await startTestCluster(t, { ...ONE_OF_EACH, 'exec-shell': 2 });
  const lib = await testRepo(t);
  await lib.commit('lib', { 'build.sh': 'mkdir -p dist && echo "lib $DISTCI_BUILD" > dist/lib.txt\n' });
  const web = await testRepo(t);
  const webCommit = await web.commit('web', {
    Makefile:
      'test:\n\tmkdir -p dist && cp vendor/lib/dist/lib.txt dist/ && echo "web built with $$cc" > dist/web-$$cc.txt\n',
  });
  await c.push({
    name: 'lib',
    repository: { url: lib.dir, ref: 'main' },
    steps: [
      { name: 'checkout', type: 'git-checkout' },
      { name: 'build', type: 'exec-shell', run: 'sh build.sh', needs: ['checkout'] },
      { name: 'publish', type: 'publish-artifacts', paths: ['dist/**'], needs: ['build'] },
    ],
  });
  // The builds issue's job, from the local repository, chained to lib's build that triggered it.
  await c.push({
    ...webJob,
    repository: { url: web.dir, ref: 'main' },
    triggers: { after: [{ job: 'lib', on: 'success' }] },
    steps: webJob.steps.map((s) => (s.name === 'deps' ? { ...s, from: { job: 'lib', build: 'triggering' } } : s)),
  });

  const libBuild = await c.trigger('lib');
  const libRecord = await c.finished('lib', libBuild);
  t.equal(libRecord.status, 'success', 'lib succeeds');
  // lib's end fired web in the same transaction: web's build 1 exists (live or already done).
  const webRecord = await c.finished('web', 1);
  t.equal(
    webRecord.status,
    'success',
    `web succeeds: ${JSON.stringify(webRecord.steps.map((s) => [s.id, s.status, s.message]))}`,
  );
  t.same(webRecord.trigger, { type: 'after', job: 'lib', build: libBuild, status: 'success' });
  t.equal(webRecord.commit, webCommit, 'the exact commit is recorded');
  t.same(
    webRecord.steps.map((s) => [s.id, s.status]),
    [
      ['checkout', 'success'],
      ['deps', 'success'],
      ['test[cc=gcc]', 'success'],
      ['test[cc=clang]', 'success'],
      ['publish', 'success'],
    ],
  );
  const manifest = JSON.parse(
    (await readBlob(c.blob, blobKeys.artifactManifest('web', 1))).toString('utf8'),
  ) as ArtifactManifest;
  const entries = manifest.artifacts;
  t.same(
    entries.map((e) => e.path),
    ['dist/lib.txt', 'dist/web-clang.txt', 'dist/web-gcc.txt'],
    'web published its own files and lib’s copied one',
  );
  for (const e of entries) {
    const bytes = await readBlob(c.blob, blobKeys.artifact('web', 1, e.path));
    t.equal(sha256(bytes), e.sha256, `${e.path}: downloadable with the manifest's sha256`);
  }
  t.equal(
    (await readBlob(c.blob, blobKeys.artifact('web', 1, 'dist/lib.txt'))).toString(),
    `lib ${libBuild}\n`,
    'copy-artifacts brought the triggering lib build’s artifact',
  );
  t.match(await logOf(c, 'web', 1, 'test[cc=gcc]', 1), /mkdir -p dist/, 'the step log holds the output');
  await assertNothingLeft(t, c, ['lib', 'web']);
});

t.test('a failing step fails the build with its exit code and log; dependents are skipped', async (t) => {
  const c = await startTestCluster(t, { control: 1, 'exec-shell': 1, 'publish-artifacts': 1 });
  await c.push({
    name: 'broken',
    steps: [
      { name: 'compile', type: 'exec-shell', run: 'echo "compiling"; echo "error: nope" >&2; exit 3' },
      { name: 'after-compile', type: 'exec-shell', run: 'echo never', needs: ['compile'] },
      { name: 'publish', type: 'publish-artifacts', paths: ['**'], needs: ['after-compile'] },
    ],
  });
  const n = await c.trigger('broken');
  const record = await c.finished('broken', n);
  t.equal(record.status, 'failure');
  t.match(record.steps[0], { id: 'compile', status: 'failure', exitCode: 3, reason: 'exit-code' });
  t.match(record.steps[1], { id: 'after-compile', status: 'skipped' });
  t.match(record.steps[2], { id: 'publish', status: 'skipped' });
  const log = await logOf(c, 'broken', n, 'compile', 1);
  t.match(log, /compiling/);
  t.match(log, /error: nope/);
  await assertNothingLeft(t, c, ['broken']);
});

t.test('independent steps run in parallel on two workers; a 2×2 matrix runs 4 steps', async (t) => {
  const c = await startTestCluster(t, { control: 1 });
  // Unisolated: the two steps meet through files of the test's host (a sandbox has a private /tmp).
  await c.startWorker('exec-shell', { concurrency: 1, isolation: 'none' });
  await c.startWorker('exec-shell', { concurrency: 1, isolation: 'none' });
  const flags = await tempDir(t);
  // Each step waits (bounded) until the other has started: they can only both succeed by overlapping.
  const waitFor = (other: string) =>
    `touch ${flags}/${other === 'a' ? 'b' : 'a'}; for i in $(seq 1 200); do [ -e ${flags}/${other} ] && exit 0; sleep 0.05; done; exit 1`;
  await c.push({
    name: 'parallel',
    steps: [
      { name: 'a', type: 'exec-shell', run: waitFor('b') },
      { name: 'b', type: 'exec-shell', run: waitFor('a') },
      { name: 'm', type: 'exec-shell', run: 'echo $os-$cc', matrix: { os: ['linux', 'mac'], cc: ['gcc', 'clang'] } },
    ],
  });
  const n = await c.trigger('parallel');
  const record = await c.finished('parallel', n);
  t.equal(record.status, 'success', JSON.stringify(record.steps.map((s) => [s.id, s.status])));
  const [a, b] = record.steps;
  t.ok(a!.startedAt! < b!.finishedAt! && b!.startedAt! < a!.finishedAt!, 'a and b overlap in recorded time');
  t.not(a!.worker, b!.worker, 'on two workers');
  t.equal(record.steps.filter((s) => s.name === 'm').length, 4, 'the matrix expanded to 4 steps');
  t.match(await logOf(c, 'parallel', n, 'm[os=mac,cc=clang]', 1), /^mac-clang\n/);
});

t.test('cancel and timeout leave no process of the step alive', async (t) => {
  // Unisolated: the script leaves its pids in a dir of the test's host and they are checked as the
  // host's; the sandboxed counterpart is in kinds/exec-shell-sandbox.test.ts.
  const c = await startTestCluster(t, { control: 1 });
  await c.startWorker('exec-shell', { isolation: 'none' });
  const dir = await tempDir(t);
  const script = (name: string) =>
    `sleep 1000 & echo $! > ${dir}/${name}.child; (sleep 1000) & echo $! >> ${dir}/${name}.child; echo $$ > ${dir}/${name}.pid; wait`;
  await c.push({ name: 'cancel-me', steps: [{ name: 'long', type: 'exec-shell', run: script('cancel') }] });
  await c.push({ name: 'time-me', timeout: '1s', steps: [{ name: 'long', type: 'exec-shell', run: script('time') }] });

  const started = (name: string) =>
    new Promise<void>((resolve) => {
      const check = () =>
        readFile(join(dir, `${name}.pid`), 'utf8').then(
          (s) => (s.trim() ? resolve() : setTimeout(check, 50)),
          () => setTimeout(check, 50),
        );
      check();
    });
  const n = await c.trigger('cancel-me');
  await started('cancel');
  t.ok(await cancelBuild(c.store, 'cancel-me', n, 'test'));
  const cancelled = await c.finished('cancel-me', n);
  t.equal(cancelled.status, 'cancelled');
  t.match(cancelled.steps[0], { status: 'cancelled', reason: 'cancelled' });

  const m = await c.trigger('time-me');
  const timedOut = await c.finished('time-me', m);
  t.equal(timedOut.status, 'failure');
  t.match(timedOut.steps[0], { status: 'failure', reason: 'timeout' });

  for (const name of ['cancel', 'time']) {
    const pids = [
      Number(await readFile(join(dir, `${name}.pid`), 'utf8')),
      ...(await readFile(join(dir, `${name}.child`), 'utf8')).trim().split('\n').map(Number),
    ];
    for (const pid of pids) t.notOk(await alive(pid), `${name}: process ${pid} is gone`);
  }
  await assertNothingLeft(t, c, ['cancel-me', 'time-me']);
});
