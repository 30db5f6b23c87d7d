/**
 * Worker metrics from worker events, served over a real socket: claims, ends by outcome, durations,
 * queue wait, tickets in flight, session state; /healthz turns 503 while a session is suspended.
 */
import t from 'tap';
import type { WorkerEvent } from '../src/worker-events.js';
import { startWorkerHttp } from '../src/worker-http.js';
import { createWorkerMetrics } from '../src/worker-metrics.js';

const ev = (type: WorkerEvent['type'], at: number, extra: Partial<WorkerEvent> = {}): WorkerEvent => ({
  type,
  worker: 'w1',
  at,
  ...extra,
});

t.test('events become bounded series; /metrics and /healthz over HTTP', async (t) => {
  const metrics = createWorkerMetrics();
  const http = await startWorkerHttp({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    unhealthy: () => metrics.unhealthy(),
  });
  t.teardown(() => http.close());
  const get = async (path: string) => {
    const res = await fetch(`${http.url}${path}`);
    return { status: res.status, text: await res.text() };
  };

  metrics.observe('exec-shell', ev('claimed', 1000, { ticket: 'exec-shell/_~a', attempt: 1, queueWaitMs: 250 }));
  metrics.observe('exec-shell', ev('claimed', 1000, { ticket: 'exec-shell/_~b', attempt: 1, queueWaitMs: 20 }));
  let text = (await get('/metrics')).text;
  t.match(text, /distci_worker_claims_total\{kind="exec-shell"\} 2/);
  t.match(text, /distci_worker_tickets_in_flight\{kind="exec-shell"\} 2/);
  t.match(text, /distci_worker_queue_wait_seconds_count\{kind="exec-shell"\} 2/);
  t.match(text, /distci_worker_queue_wait_seconds_sum\{kind="exec-shell"\} 0\.27/);

  metrics.observe('exec-shell', ev('completed', 3000, { ticket: 'exec-shell/_~a', attempt: 1 }));
  metrics.observe('exec-shell', ev('failed', 1500, { ticket: 'exec-shell/_~b', attempt: 1 }));
  metrics.observe('exec-shell', ev('error', 1600, { message: 'x' }));
  text = (await get('/metrics')).text;
  t.match(text, /distci_worker_tickets_ended_total\{kind="exec-shell",outcome="completed"\} 1/);
  t.match(text, /distci_worker_tickets_ended_total\{kind="exec-shell",outcome="failed"\} 1/);
  t.match(text, /distci_worker_tickets_in_flight\{kind="exec-shell"\} 0/);
  t.match(text, /distci_worker_ticket_duration_seconds_sum\{kind="exec-shell",outcome="completed"\} 2/);
  t.match(text, /distci_worker_errors_total\{kind="exec-shell"\} 1/);
  t.notMatch(text, /_~a|_~b/, 'no ticket id becomes a label');

  t.same(await get('/healthz'), { status: 200, text: '{"ok":true}\n' });
  metrics.observe('exec-shell', ev('paused', 4000));
  const sick = await get('/healthz');
  t.equal(sick.status, 503, 'a suspended session is unhealthy');
  t.match(JSON.parse(sick.text).reason, /coordination session suspended for w1 since 1970-01-01T00:00:04/);
  t.match((await get('/metrics')).text, /distci_worker_session_connected\{kind="exec-shell"\} 0/);
  metrics.observe('exec-shell', ev('resumed', 5000));
  metrics.observe('exec-shell', ev('session-lost', 5000, { message: 'new session: 1 attempt(s) abandoned' }));
  t.equal((await get('/healthz')).status, 200, 'healthy again once resumed');
  t.match((await get('/metrics')).text, /distci_worker_session_losses_total\{kind="exec-shell"\} 1/);
  t.equal((await get('/nope')).status, 404);
});
