/**
 * Invariant 7 (stateless frontend), the acceptance: two frontends on one ZooKeeper and one
 * Ceph RGW, real workers (control, exec-shell) in between. A build triggered through one frontend is
 * followed to its end — its events and a step's live log — through the other, over real sockets.
 */
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { decodeChunk } from '../src/live/log-follow.js';
import { AUTH, realStorage, testFrontend, testOptions } from './helpers/frontend.js';
import { readSse, type SseMessage } from './helpers/sse-client.js';
import { startWorkers } from './helpers/workers.js';

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

async function collect(url: string): Promise<SseMessage[]> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const out: SseMessage[] = [];
  for await (const m of readSse(res.body!)) {
    out.push(m);
    if (m.event === 'end') break;
  }
  await res.body?.cancel().catch(() => {});
  return out;
}

t.test('a build triggered through one frontend is followed to its end through another', async (t) => {
  const storage = realStorage(t);
  const one = await testFrontend(t, storage, testOptions({ logPollMs: 100 }));
  const two = await testFrontend(t, storage, testOptions({ logPollMs: 100 }));
  const [, urlTwo] = await Promise.all([listen(one.app), listen(two.app)]);
  await startWorkers(t, storage, { control: 1, 'exec-shell': 1 });

  const job = {
    name: 'hello',
    params: { WHO: { default: 'you' } },
    steps: [
      {
        name: 'greet',
        type: 'exec-shell',
        run: 'for i in 1 2 3; do echo "line $i"; sleep 0.7; done; printf "no newline"',
      },
      { name: 'after', type: 'exec-shell', run: 'echo done', needs: ['greet'] },
    ],
  };
  t.equal((await one.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: job })).statusCode, 201);
  const trigger = await one.app.inject({
    method: 'POST',
    url: '/api/v1/jobs/hello/builds',
    headers: AUTH,
    payload: { params: { WHO: 'world' } },
  });
  t.equal(trigger.statusCode, 201);
  t.same(trigger.json(), { job: 'hello', number: 1, url: '/api/v1/jobs/hello/builds/1' });

  const base = `${urlTwo}/api/v1/jobs/hello/builds/1`;
  const [events, log] = await Promise.all([collect(`${base}/events`), collect(`${base}/logs/greet?follow=1`)]);

  // Events: build views with increasing ids, ending with the archived one.
  const ids = events.map((e) => Number(e.id));
  t.same(
    ids,
    ids.map((_, i) => i + 1),
    'ids 1, 2, 3…',
  );
  t.ok(events.length >= 3, `${events.length} events`);
  const views = events.map((e) => JSON.parse(e.data));
  t.ok(events.slice(0, -1).every((e) => e.event === 'build'));
  t.equal(events.at(-1)!.event, 'end');
  const final = views.at(-1);
  t.match(final, { job: 'hello', number: 1, status: 'success', live: false, params: { WHO: 'world' } });
  t.same(
    final.steps.map((s: { id: string; status: string }) => [s.id, s.status]),
    [
      ['greet', 'success'],
      ['after', 'success'],
    ],
  );
  t.ok(
    views.some((v) => v.steps.some((s: { id: string; status: string }) => s.id === 'greet' && s.status === 'running')),
    'the step was seen running',
  );

  // The live log, chunk by chunk, equals the plain log served by the first frontend.
  const chunks = log.filter((m) => m.event === 'message');
  t.ok(chunks.length >= 2, `${chunks.length} chunks arrived live`);
  t.same(
    chunks.map((m) => Number(m.id)),
    chunks.map((_, i) => i),
  );
  const followed = Buffer.concat(chunks.map((m) => decodeChunk(m.data))).toString();
  t.match(followed, /^line 1\nline 2\nline 3\nno newline/);
  const plain = await one.app.inject({ method: 'GET', url: '/api/v1/jobs/hello/builds/1/logs/greet' });
  t.equal(plain.body, followed);
  t.same(JSON.parse(log.at(-1)!.data), { step: 'greet', status: 'success', attempt: 1, chunks: chunks.length });

  // Both answer the same.
  const [a, b] = await Promise.all(
    [one, two].map((f) => f.app.inject({ method: 'GET', url: '/api/v1/jobs/hello/builds/1' })),
  );
  t.same(a!.json(), b!.json());
  t.same(a!.json(), final);
});
