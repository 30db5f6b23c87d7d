/** /metrics: request counters by route template, builds by trigger, queue gauges read at scrape time. */
import t from 'tap';
import { AUTH, embeddedStorage, jobConfig, testFrontend } from '../helpers/frontend.js';

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
