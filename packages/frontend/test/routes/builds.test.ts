/**
 * Builds over the API on real ZooKeeper + Ceph RGW: trigger, list, read, cancel; and the retry of a
 * failed step with real workers — only that step and the steps needing it run again.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BuildState, decodeJson, zpaths } from '@distci/common';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { AUTH, jobConfig, realStorage, TOKEN, testFrontend } from '../helpers/frontend.js';
import { readSse } from '../helpers/sse-client.js';
import { startWorkers } from '../helpers/workers.js';

const post = (app: FastifyInstance, url: string, payload?: unknown) =>
  app.inject({ method: 'POST', url, headers: AUTH, ...(payload !== undefined ? { payload: payload as object } : {}) });

t.test('trigger, list, read, cancel', async (t) => {
  const { app, store } = await testFrontend(t, realStorage(t));
  t.equal(
    (
      await post(
        app,
        '/api/v1/jobs',
        jobConfig('web', {
          repository: { url: 'https://example.com/web.git', ref: 'main' },
          params: { LEVEL: { default: '1' } },
        }),
      )
    ).statusCode,
    201,
  );

  t.test('a job that never built lists nothing and creates nothing', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds' });
    t.same(res.json(), { builds: [], next: null });
    t.equal(await store.exists(zpaths.job('web')), null);
    const missing = await app.inject({ method: 'GET', url: '/api/v1/jobs/nope/builds' });
    t.equal(missing.statusCode, 404);
    t.equal(await store.exists(zpaths.job('nope')), null);
  });

  t.test('trigger: manual, ref and params, the current config version', async (t) => {
    const plain = await post(app, '/api/v1/jobs/web/builds');
    t.equal(plain.statusCode, 201);
    t.same(plain.json(), { job: 'web', number: 1, url: '/api/v1/jobs/web/builds/1' });
    t.equal(plain.headers.location, '/api/v1/jobs/web/builds/1');
    const state = decodeJson<BuildState>((await store.get(zpaths.build('web', 1))).data);
    t.match(state, { ref: 'main', trigger: { type: 'manual', by: /^token:[0-9a-f]{8}$/ }, params: {} });
    const controls = await store.children(zpaths.ticketQueue('control', []));
    const withParams = await post(app, '/api/v1/jobs/web/builds', {
      ref: 'refs/heads/dev',
      params: { LEVEL: '3' },
      priority: 9,
    });
    t.equal(withParams.json().number, 2);
    t.match(decodeJson<BuildState>((await store.get(zpaths.build('web', 2))).data), {
      ref: 'refs/heads/dev',
      params: { LEVEL: '3' },
      priority: 9,
    });
    const posted = (await store.children(zpaths.ticketQueue('control', []))).filter((n) => !controls.includes(n));
    t.match(posted, [/^0-/], 'its control ticket is queued at priority 9 (names sort the most urgent first)');
    for (const body of [
      { params: { 'bad name': 'x' } },
      { params: { A: 1 } },
      { ref: '' },
      { ref: 'a b' },
      { priority: 10 },
      { priority: 1.5 },
      { extra: true },
      { params: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`P${i}`, 'x'.repeat(2000)])) },
    ]) {
      const res = await post(app, '/api/v1/jobs/web/builds', body);
      t.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 60));
      t.equal(res.json().code, 'DISTCI_BAD_REQUEST');
    }
    t.equal((await post(app, '/api/v1/jobs/nope/builds')).statusCode, 404);
    t.same(await store.children(zpaths.builds('web')), ['b-0000000001', 'b-0000000002'], 'nothing else triggered');
  });

  t.test('list newest first, paginated; read one', async (t) => {
    await post(app, '/api/v1/jobs/web/builds');
    const page1 = (await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds?limit=2' })).json();
    t.same(
      page1.builds.map((b: { number: number }) => b.number),
      [3, 2],
    );
    t.equal(page1.next, 2);
    const page2 = (
      await app.inject({ method: 'GET', url: `/api/v1/jobs/web/builds?limit=2&before=${page1.next}` })
    ).json();
    t.same(
      page2.builds.map((b: { number: number }) => b.number),
      [1],
    );
    t.equal(page2.next, null);
    const one = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/2' });
    t.match(one.json(), { job: 'web', number: 2, status: 'queued', live: true, steps: [] });
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/99' })).statusCode, 404);
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/0' })).statusCode, 400);
  });

  t.test('cancel a live build: 202, marked; a finished or missing one: 409 / 404', async (t) => {
    const res = await post(app, '/api/v1/jobs/web/builds/3/cancel');
    t.equal(res.statusCode, 202);
    t.same(res.json(), { job: 'web', number: 3, cancelled: true });
    t.match(decodeJson<BuildState>((await store.get(zpaths.build('web', 3))).data).cancel, {
      reason: 'cancelled',
      by: /^token:/,
    });
    t.equal((await post(app, '/api/v1/jobs/web/builds/3/cancel')).statusCode, 202, 'idempotent');
    t.equal((await post(app, '/api/v1/jobs/web/builds/99/cancel')).statusCode, 404);
  });
});

t.test('retry a failed step with real workers: it and its dependents run again, the rest is copied', async (t) => {
  const storage = realStorage(t);
  const { app } = await testFrontend(t, storage);
  // Unisolated: the flaky step checks a file of the test's host (a sandbox has a private /tmp).
  await startWorkers(t, storage, { control: 1, 'exec-shell': 2 }, 'none');
  const dir = await mkdtemp(join(tmpdir(), 'distci-retry-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const job = {
    name: 'flaky',
    steps: [
      { name: 'prepare', type: 'exec-shell', run: 'echo prepared' },
      { name: 'independent', type: 'exec-shell', run: 'echo independent' },
      { name: 'test', type: 'exec-shell', run: `echo testing; test -f ${dir}/ok`, needs: ['prepare'] },
      { name: 'report', type: 'exec-shell', run: 'echo report', needs: ['test'] },
    ],
  };
  t.equal((await post(app, '/api/v1/jobs', job)).statusCode, 201);
  t.equal((await post(app, '/api/v1/jobs/flaky/builds')).json().number, 1);

  const finished = async (n: number) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/flaky/builds/${n}/events` });
    // inject waits for the stream's end: the last event is the archived view.
    const events: Array<{ event: string; data: string }> = [];
    for await (const m of readSse(new Response(res.body).body!)) events.push(m);
    const last = events.at(-1)!;
    t.equal(last.event, 'end');
    return JSON.parse(last.data);
  };
  const first = await finished(1);
  t.equal(first.status, 'failure');
  t.same(
    first.steps.map((s: { id: string; status: string }) => [s.id, s.status]),
    [
      ['prepare', 'success'],
      ['independent', 'success'],
      ['test', 'failure'],
      ['report', 'skipped'],
    ],
  );
  t.equal(
    (await post(app, '/api/v1/jobs/flaky/builds/1/steps/prepare/retry')).json().code,
    'DISTCI_STEP_NOT_RETRYABLE',
  );
  t.equal((await post(app, '/api/v1/jobs/flaky/builds/1/steps/nope/retry')).statusCode, 404);

  await writeFile(join(dir, 'ok'), '');
  const retry = await post(app, '/api/v1/jobs/flaky/builds/1/steps/test/retry');
  t.equal(retry.statusCode, 201);
  t.same(retry.json(), { job: 'flaky', number: 2, url: '/api/v1/jobs/flaky/builds/2' });
  const second = await finished(2);
  t.match(second, { status: 'success', trigger: { type: 'retry', of: 1, step: 'test', by: /^token:/ } });
  const byId = Object.fromEntries(second.steps.map((s: { id: string }) => [s.id, s]));
  t.match(byId.prepare, { status: 'success', copiedFrom: 1 });
  t.match(byId.independent, { status: 'success', copiedFrom: 1 });
  t.match(byId.test, { status: 'success' });
  t.notOk('copiedFrom' in byId.test);
  t.match(byId.report, { status: 'success' });
  // A copied step's log is the one of the build that ran it.
  const log = await app.inject({ method: 'GET', url: '/api/v1/jobs/flaky/builds/2/logs/prepare' });
  t.equal(log.headers['x-distci-build'], '1');
  t.match(log.body, /^prepared\n/);
  t.match((await app.inject({ method: 'GET', url: '/api/v1/jobs/flaky/builds/2/logs/test' })).body, /^testing\n/);
  // A running build cannot be retried.
  t.equal((await post(app, '/api/v1/jobs/flaky/builds/2/cancel')).json().code, 'DISTCI_BUILD_FINISHED');
});

t.test(
  'retry the failed steps: a 2×2 matrix with two failing cells re-runs exactly those two in one build',
  async (t) => {
    const storage = realStorage(t);
    const { app } = await testFrontend(t, storage);
    // Unisolated: the cells append to and check files of the test's host (a sandbox has a private /tmp).
    await startWorkers(t, storage, { control: 1, 'exec-shell': 2 }, 'none');
    const dir = await mkdtemp(join(tmpdir(), 'distci-retry-failed-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const job = {
      name: 'grid',
      steps: [
        { name: 'prepare', type: 'exec-shell', run: 'echo prepared' },
        {
          name: 'm',
          type: 'exec-shell',
          // Every run of a cell leaves a line; the clang cells fail until `ok` exists.
          run: `echo "$os-$cc" >> ${dir}/runs; [ "$cc" != clang ] || test -f ${dir}/ok`,
          needs: ['prepare'],
          matrix: { os: ['linux', 'mac'], cc: ['gcc', 'clang'] },
        },
        { name: 'report', type: 'exec-shell', run: 'echo report', needs: ['m'] },
      ],
    };
    t.equal((await post(app, '/api/v1/jobs', job)).statusCode, 201);
    t.equal((await post(app, '/api/v1/jobs/grid/builds')).json().number, 1);
    const finished = async (n: number) => {
      const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/grid/builds/${n}/events` });
      const events: Array<{ event: string; data: string }> = [];
      for await (const m of readSse(new Response(res.body).body!)) events.push(m);
      const last = events.at(-1)!;
      t.equal(last.event, 'end', `build ${n} ended`);
      return JSON.parse(last.data) as { status: string; trigger: object; steps: Array<Record<string, unknown>> };
    };
    const statuses = (b: { steps: Array<Record<string, unknown>> }) =>
      Object.fromEntries(b.steps.map((s) => [s.id, s.status]));
    const runs = async () => (await readFile(join(dir, 'runs'), 'utf8')).trim().split('\n').sort();

    const first = await finished(1);
    t.equal(first.status, 'failure');
    t.same(statuses(first), {
      prepare: 'success',
      'm[os=linux,cc=gcc]': 'success',
      'm[os=linux,cc=clang]': 'failure',
      'm[os=mac,cc=gcc]': 'success',
      'm[os=mac,cc=clang]': 'failure',
      report: 'skipped',
    });
    t.same(await runs(), ['linux-clang', 'linux-gcc', 'mac-clang', 'mac-gcc'], 'each cell ran once');

    // The dashboard offers it on the finished build; its form needs a token like the others.
    const page = (await app.inject({ url: '/jobs/grid/builds/1' })).body;
    t.match(
      page,
      /<form [^>]*action="\/jobs\/grid\/builds\/1\/retry" data-api="\/api\/v1\/jobs\/grid\/builds\/1\/retry"/,
    );
    t.match(page, 'Retry failed steps');
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    t.equal(
      (await app.inject({ method: 'POST', url: '/jobs/grid/builds/1/retry', headers: form, payload: 'token=' }))
        .statusCode,
      401,
    );
    t.equal((await post(app, '/api/v1/jobs/grid/builds/1/retry', {})).statusCode, 400, 'the body says what to retry');

    await writeFile(join(dir, 'ok'), '');
    const retry = await post(app, '/api/v1/jobs/grid/builds/1/retry', { failed: true });
    t.equal(retry.statusCode, 201);
    t.same(retry.json(), { job: 'grid', number: 2, url: '/api/v1/jobs/grid/builds/2' });
    const second = await finished(2);
    t.match(second, { status: 'success', trigger: { type: 'retry', of: 1, failed: true, by: /^token:/ } });
    t.same(Object.values(statuses(second)), Array(6).fill('success'));
    const copied = second.steps.filter((s) => s.copiedFrom === 1).map((s) => s.id);
    t.same(copied.sort(), ['m[os=linux,cc=gcc]', 'm[os=mac,cc=gcc]', 'prepare'], 'the successful steps are copied');
    t.same(
      await runs(),
      ['linux-clang', 'linux-clang', 'linux-gcc', 'mac-clang', 'mac-clang', 'mac-gcc'],
      'exactly the two failed cells ran again',
    );
    t.equal(
      (await post(app, '/api/v1/jobs/grid/builds/2/retry', { failed: true })).json().code,
      'DISTCI_STEP_NOT_RETRYABLE',
      'a build with nothing that failed has nothing to retry',
    );

    // The dashboard's form does the same: a new build, and the browser goes to it.
    const viaForm = await app.inject({
      method: 'POST',
      url: '/jobs/grid/builds/1/retry',
      headers: form,
      payload: `token=${encodeURIComponent(TOKEN)}`,
    });
    t.equal(viaForm.statusCode, 303);
    t.equal(viaForm.headers.location, '/jobs/grid/builds/3');
    t.match(await finished(3), { status: 'success', trigger: { type: 'retry', of: 1, failed: true } });
  },
);
