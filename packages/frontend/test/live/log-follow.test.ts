/**
 * Following a log live over a real socket (fetch), on real ZooKeeper + Ceph RGW: disconnected half-way,
 * resumed with Last-Event-ID, the followed bytes equal the stored log byte for byte — while the test
 * writes the chunks itself, some before the follower connects, some while it is away, some after.
 */
import { blobKeys, readBlob } from '@distci/common';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { decodeChunk, encodeChunk } from '../../src/live/log-follow.js';
import { formatEvent } from '../../src/live/sse.js';
import { fakeRunningStep } from '../helpers/fake-step.js';
import {
  AUTH,
  embeddedStorage,
  jobConfig,
  realStorage,
  type TestStorage,
  testFrontend,
  testOptions,
} from '../helpers/frontend.js';
import { readSse, type SseMessage } from '../helpers/sse-client.js';

t.test('encodeChunk: any bytes round-trip through SSE framing, byte for byte', async (t) => {
  const roundTrip = (bytes: Buffer) => {
    const framed = formatEvent({ id: 7, data: encodeChunk(bytes) });
    const dataLines = framed.split('\n').filter((l) => l.startsWith('data: '));
    if (dataLines.length !== 1) throw new Error(`${dataLines.length} data lines: the JSON held a raw newline`);
    return decodeChunk(dataLines.map((l) => l.slice(6)).join('\n'));
  };
  for (const s of [
    'line\n',
    'no newline',
    '\r\n\r\n',
    '\n',
    '\r',
    'a\rb',
    '\ufeffbom',
    'nul\0',
    'data: x\n\nid: 9\n',
  ]) {
    t.same(roundTrip(Buffer.from(s)), Buffer.from(s), JSON.stringify(s));
  }
  t.same(roundTrip(Buffer.from([0xe2, 0x82])), Buffer.from([0xe2, 0x82]), 'a split character (base64)');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => Buffer.from(bytes).equals(roundTrip(Buffer.from(bytes)))),
    { numRuns: 150 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => roundTrip(Buffer.from(s)).equals(Buffer.from(s))),
    { numRuns: 150 },
  );
});

/** The chunks the "step" writes: every shape that could break framing or lose a byte. */
const CHUNKS = [
  'plain line\n',
  'no trailing newline',
  ' — continued, then two\nlines\n',
  '\r\nwindows\r\nlines\r\n',
  'data: looks like a field\n\nid: 99\nevent: end\n',
  '',
  'ünïcødé ✓ 🚀\n',
  '\n\n\n',
  'a lone carriage return\r',
  Buffer.from([0xf0, 0x9f, 0x9a]), // the last chunk of a log may end inside a character
].map((c) => (typeof c === 'string' ? Buffer.from(c) : c));

interface Setup {
  app: FastifyInstance;
  url: string;
  storage: TestStorage;
}

async function setup(t: Test, storage: TestStorage, pollMs = 50): Promise<Setup> {
  const { app } = await testFrontend(t, storage, testOptions({ logPollMs: pollMs }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const created = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') });
  t.equal(created.statusCode, 201);
  const triggered = await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });
  t.equal(triggered.json().number, 1);
  return { app, url: `http://127.0.0.1:${port}/api/v1/jobs/web/builds/1/logs/build`, storage };
}

/** Reads events until `stop` says so (then disconnects) or the stream ends. */
async function follow(
  url: string,
  headers: Record<string, string>,
  stop: (m: SseMessage, all: SseMessage[]) => boolean,
): Promise<{ messages: SseMessage[]; ended: boolean }> {
  const controller = new AbortController();
  const res = await fetch(`${url}?follow=1`, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const messages: SseMessage[] = [];
  try {
    for await (const m of readSse(res.body!)) {
      messages.push(m);
      if (m.event === 'end') return { messages, ended: true };
      if (stop(m, messages)) {
        controller.abort();
        return { messages, ended: false };
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return { messages, ended: false };
}

t.test('a followed log, disconnected and resumed with Last-Event-ID, equals the stored log', async (t) => {
  const storage = realStorage(t);
  const { url } = await setup(t, storage);
  const store = await storage.connect();
  const step = await fakeRunningStep(store, 'web', 1, 'build', 1);
  const put = (i: number) => storage.blob.put(blobKeys.logChunk('web', 1, 'build', 1, i), CHUNKS[i]!);
  // Three chunks exist before anyone follows: a follower catches up at once.
  for (let i = 0; i < 3; i++) await put(i);
  let written = 3;
  const writeMore = async (upTo: number) => {
    for (; written < upTo; written++) {
      await put(written);
      await new Promise((r) => setTimeout(r, 20)); // a live step's pace, compressed
    }
  };

  // The follower disconnects after chunk 4, which arrives while the writer runs.
  const [first] = await Promise.all([follow(url, {}, (m) => m.id === '4'), writeMore(6)]);
  t.notOk(first.ended);
  t.same(
    first.messages.filter((m) => m.event === 'attempt').map((m) => JSON.parse(m.data)),
    [{ step: 'build', attempt: 1, build: 1 }],
  );
  const firstChunks = first.messages.filter((m) => m.event === 'message');
  t.same(
    firstChunks.map((m) => m.id),
    ['0', '1', '2', '3', '4'],
  );

  // While nobody follows, more chunks arrive; the follower comes back and the rest is written after.
  await writeMore(8);
  const resumed = follow(url, { 'last-event-id': '4' }, () => false);
  await writeMore(CHUNKS.length);
  await step.finish('success', CHUNKS.length);
  const second = await resumed;
  t.ok(second.ended, 'the stream ends once the step is finished and every chunk was sent');
  const secondChunks = second.messages.filter((m) => m.event === 'message');
  t.same(
    secondChunks.map((m) => m.id),
    CHUNKS.slice(5).map((_, i) => String(i + 5)),
    'resumed from chunk 5: no loss, no duplicate',
  );
  const end = JSON.parse(second.messages.at(-1)!.data);
  t.same(end, { step: 'build', status: 'success', attempt: 1, chunks: CHUNKS.length });

  const followed = Buffer.concat([...firstChunks, ...secondChunks].map((m) => decodeChunk(m.data)));
  const stored = Buffer.concat(
    await Promise.all(CHUNKS.map((_, i) => readBlob(storage.blob, blobKeys.logChunk('web', 1, 'build', 1, i)))),
  );
  t.ok(followed.equals(stored), 'followed bytes = stored bytes');
  t.ok(stored.equals(Buffer.concat(CHUNKS)));

  // The plain log is the same bytes.
  const plain = await fetch(url);
  t.equal(plain.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.equal(plain.headers.get('x-distci-attempt'), '1');
  t.ok(Buffer.from(await plain.arrayBuffer()).equals(stored), 'plain text = stored bytes');
});

t.test('following a step that has not started waits for it, and a finished one ends at once', async (t) => {
  const storage = await embeddedStorage(t);
  const { url, app } = await setup(t, storage, 20);
  const store = await storage.connect();
  const followed = follow(url, {}, () => false);
  // Let the follower find the step not posted yet, then start it.
  await new Promise((r) => setTimeout(r, 100));
  const step = await fakeRunningStep(store, 'web', 1, 'build', 2);
  await storage.blob.put(blobKeys.logChunk('web', 1, 'build', 2, 0), 'attempt two\n');
  await step.finish('failure', 1);
  const { messages, ended } = await followed;
  t.ok(ended);
  t.same(
    messages.map((m) => [m.event, m.id]),
    [
      ['attempt', null],
      ['message', '0'],
      ['end', '0'],
    ],
  );
  t.equal(JSON.parse(messages[2]!.data).status, 'failure');
  // Once finished, a follower gets everything and the end without waiting.
  const again = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1/logs/build?follow=1' });
  t.match(again.body, /id: 0\ndata: "attempt two\\n"\n\nevent: end\n/);
  t.equal(again.headers['content-type'], 'text/event-stream; charset=utf-8');
  // ?attempt= picks another attempt (none was written for 1).
  const other = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1/logs/build?attempt=1' });
  t.equal(other.body, '');
  t.equal(other.headers['x-distci-attempt'], '1');
  // An attempt the step never had: 404 (was an empty 200), plain and followed.
  for (const url of [
    '/api/v1/jobs/web/builds/1/logs/build?attempt=7',
    '/api/v1/jobs/web/builds/1/logs/build?attempt=7&follow=1',
  ]) {
    const none = await app.inject({ method: 'GET', url });
    t.equal(none.statusCode, 404, url);
    t.equal(none.json().code, 'DISTCI_ATTEMPT_NOT_FOUND', url);
  }
  // A step that is not in the build's plan.
  const missing = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1/logs/nope' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'DISTCI_STEP_NOT_FOUND');
  t.match(missing.json().message, /steps are: build, test/);
});

t.test('a superseded attempt: the follower announces the new attempt and streams it from chunk 0', async (t) => {
  const storage = await embeddedStorage(t);
  const { url } = await setup(t, storage, 20);
  const store = await storage.connect();
  const one = await fakeRunningStep(store, 'web', 1, 'build', 1);
  await storage.blob.put(blobKeys.logChunk('web', 1, 'build', 1, 0), 'one\n');
  const followed = follow(url, {}, () => false);
  await new Promise((r) => setTimeout(r, 100));
  await one.lose();
  const two = await fakeRunningStep(store, 'web', 1, 'build', 2);
  await storage.blob.put(blobKeys.logChunk('web', 1, 'build', 2, 0), 'two\n');
  await two.finish('success', 1);
  const { messages } = await followed;
  t.same(
    messages.map((m) => [m.event, m.id, m.event === 'message' ? decodeChunk(m.data).toString() : null]),
    [
      ['attempt', null, null],
      ['message', '0', 'one\n'],
      ['attempt', '', null], // an empty id: a reconnect starts the new attempt from chunk 0
      ['message', '0', 'two\n'],
      ['end', '0', null],
    ],
  );
  t.same(JSON.parse(messages[2]!.data), { step: 'build', attempt: 2, build: 1 });
});

t.test('many followers of one log share one reader: each chunk is read from storage once', async (t) => {
  // issue 13, hole 7: each follower used to poll storage itself (500 followers: half a core).
  const FOLLOWERS = 20;
  const storage = await embeddedStorage(t);
  const reads = new Map<string, number>();
  const counted = new Proxy(storage.blob, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== 'get') return value;
      // Counts the GETs that found the chunk (a probe of a chunk not written yet is a 404).
      return async (k: string) => {
        const found = await (value as (k: string) => Promise<unknown>).call(target, k);
        if (k.includes('/logs/')) reads.set(k, (reads.get(k) ?? 0) + 1);
        return found;
      };
    },
  });
  const { url } = await setup(t, { ...storage, blob: counted }, 20);
  const store = await storage.connect();
  const step = await fakeRunningStep(store, 'web', 1, 'build', 1);
  const followers = Array.from({ length: FOLLOWERS }, () => follow(url, {}, () => false));
  for (let i = 0; i < 3; i++) {
    await storage.blob.put(blobKeys.logChunk('web', 1, 'build', 1, i), `chunk ${i}\n`);
    await new Promise((r) => setTimeout(r, 30)); // a live step's pace, compressed
  }
  await step.finish('success', 3);
  const results = await Promise.all(followers);
  for (const { messages, ended } of results) {
    t.ok(ended);
    t.same(
      messages.filter((m) => m.event === 'message').map((m) => decodeChunk(m.data).toString()),
      ['chunk 0\n', 'chunk 1\n', 'chunk 2\n'],
    );
  }
  for (let i = 0; i < 3; i++) {
    t.equal(
      reads.get(blobKeys.logChunk('web', 1, 'build', 1, i)),
      1,
      `chunk ${i} was read once for ${FOLLOWERS} followers (was once per follower)`,
    );
  }
});
