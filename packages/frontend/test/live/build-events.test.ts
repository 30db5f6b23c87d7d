/**
 * Build events on the embedded store: a view per change (step posted, started, finished, build
 * cancelled), ids 1, 2, 3…, `end` with the archived view; Last-Event-ID resumes the numbering.
 */
import { type BuildRecord, blobKeys, encodeJson, newStepState, stepPath, zpaths } from '@distci/common';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { fakeRunningStep } from '../helpers/fake-step.js';
import { AUTH, embeddedStorage, jobConfig, testFrontend } from '../helpers/frontend.js';
import { readSse, type SseMessage } from '../helpers/sse-client.js';

async function open(app: FastifyInstance, headers: Record<string, string> = {}) {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/jobs/web/builds/1/events`, { headers });
  const messages: SseMessage[] = [];
  const iterator = readSse(res.body!)[Symbol.asyncIterator]();
  return {
    res,
    messages,
    async next(): Promise<SseMessage> {
      const { value, done } = await iterator.next();
      if (done) throw new Error('the stream ended');
      messages.push(value);
      return value;
    },
  };
}

t.test('events of a live build, to its end', async (t) => {
  const storage = await embeddedStorage(t);
  const { app, store, blob } = await testFrontend(t, storage);
  await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') });
  await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });

  const stream = await open(app);
  t.equal(stream.res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const first = await stream.next();
  t.match(first, { id: '1', event: 'build' });
  t.match(JSON.parse(first.data), { number: 1, status: 'queued', live: true, steps: [] });

  // The control worker starts the build and posts a step: one or more views follow.
  const seen = async (
    predicate: (view: { status: string; steps: Array<{ id: string; status: string }> }) => boolean,
  ) => {
    for (;;) {
      const m = await stream.next();
      if (predicate(JSON.parse(m.data))) return m;
    }
  };
  const state = JSON.parse((await store.get(zpaths.build('web', 1))).data.toString());
  await store.set(zpaths.build('web', 1), encodeJson({ ...state, status: 'running', startedAt: Date.now() }));
  await seen((v) => v.status === 'running');
  await store.create(stepPath('web', 1, 'build'), encodeJson(newStepState()));
  await seen((v) => v.steps[0]?.status === 'queued');
  const step = await fakeRunningStep(store, 'web', 1, 'build', 1);
  await seen((v) => v.steps[0]?.status === 'running');
  await step.finish('success', 0);
  await seen((v) => v.steps[0]?.status === 'success');

  // Archived: the record first, then the nodes go (as the control worker does).
  const record: BuildRecord = {
    v: 1,
    job: 'web',
    number: 1,
    status: 'success',
    trigger: state.trigger,
    ref: null,
    commit: null,
    params: {},
    config: state.config,
    createdAt: state.createdAt,
    startedAt: state.createdAt,
    finishedAt: Date.now(),
    cancel: null,
    steps: [
      {
        ...newStepState(),
        status: 'success',
        id: 'build',
        name: 'build',
        type: 'exec-shell',
        needs: [],
        matrix: null,
        labels: [],
      },
    ],
  };
  await blob.put(blobKeys.build('web', 1), JSON.stringify(record));
  await store.multi([
    { type: 'delete', path: stepPath('web', 1, 'build') },
    { type: 'delete', path: `${zpaths.build('web', 1)}/steps` },
    { type: 'delete', path: zpaths.build('web', 1) },
  ]);
  const end = await seen(() => false).catch(() => stream.messages.at(-1)!);
  t.equal(end.event, 'end');
  t.match(JSON.parse(end.data), { status: 'success', live: false });
  const ids = stream.messages.map((m) => Number(m.id));
  t.same(
    ids,
    ids.map((_, i) => i + 1),
  );

  // A finished build: one `end`, numbered after the Last-Event-ID the client sends.
  const again = await app.inject({
    method: 'GET',
    url: '/api/v1/jobs/web/builds/1/events',
    headers: { 'last-event-id': '41' },
  });
  t.match(again.body, /^retry: 2000\n\nid: 42\nevent: end\ndata: \{"job":"web","number":1,"status":"success"/);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/2/events' })).statusCode, 404);
});
