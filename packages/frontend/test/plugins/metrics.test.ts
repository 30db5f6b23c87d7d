/** /metrics: request counters by route template, builds by trigger, queue gauges read at scrape time. */
import { readBuildRecord, zpaths } from '@distci/common';
import t from 'tap';
import { AUTH, embeddedStorage, jobConfig, testFrontend } from '../helpers/frontend.js';
import { startWorkers } from '../helpers/workers.js';

t.test('metrics', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') });
  await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });
  await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });
  await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1' });
  await app.inject({ method: 'GET', url: '/nope' });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  t.match(text, 'distci_builds_triggered_total{trigger="manual"} 2');
  t.match(text, 'distci_http_requests_total{method="POST",route="/api/v1/jobs/:job/builds",status="201"} 2');
  t.match(text, 'distci_http_requests_total{method="GET",route="/api/v1/jobs/:job/builds/:n",status="200"} 1');
  t.match(text, 'distci_http_requests_total{method="GET",route="unmatched",status="404"} 1');
  // Two control tickets wait, nobody serves them.
  t.match(text, 'distci_queue_waiting_tickets{kind="control",labels=""} 2');
  t.match(text, 'distci_queue_claimed_tickets{kind="control",labels=""} 0');
  t.match(text, /distci_queue_oldest_wait_seconds\{kind="control",labels=""\} \d/);
  t.match(text, /distci_frontend_process_cpu_seconds_total/);
  t.match(text, 'distci_sse_streams');
});

t.test('build metrics: each finished build observed once, with its steps', async (t) => {
  const storage = await embeddedStorage(t);
  const { app, store, blob } = await testFrontend(t, storage);
  await startWorkers(t, storage, { control: 1, 'exec-shell': 1 });
  const job = {
    name: 'timed',
    steps: [
      { name: 'ok', type: 'exec-shell', run: 'true' },
      { name: 'no', type: 'exec-shell', run: 'exit 1', needs: ['ok'] },
    ],
  };
  await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: job });
  await app.inject({ method: 'GET', url: '/metrics' }); // first sight of the job: history is not counted
  const res = await app.inject({ method: 'POST', url: '/api/v1/jobs/timed/builds', headers: AUTH });
  const n = (res.json() as { number: number }).number;
  // Wait for the archive: the build node goes once the record is written.
  for (;;) {
    const gone = new Promise<void>((resolve) => {
      void store.exists(zpaths.build('timed', n), () => resolve()).then((stat) => stat === null && resolve());
    });
    await gone;
    if ((await store.exists(zpaths.build('timed', n))) === null) break;
  }
  t.ok(await readBuildRecord(blob, 'timed', n));
  const first = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(first, 'distci_builds_finished_total{status="failure"} 1');
  t.match(first, 'distci_build_duration_seconds_count{status="failure"} 1');
  t.match(first, 'distci_step_duration_seconds_count{type="exec-shell",status="success"} 1');
  t.match(first, 'distci_step_duration_seconds_count{type="exec-shell",status="failure"} 1');
  t.match(first, 'distci_claim_latency_seconds_count{type="exec-shell"} 2');
  const again = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(again, 'distci_builds_finished_total{status="failure"} 1', 'a build is observed once');
});
