/**
 * `…/logs/:step/lines`, `…/logs/:step/search` and `Range:` on the plain log, over a log of many chunks
 * written as the worker writes them (chunk, then its index entry) and over the same log without any
 * index (written before the index existed): lines spanning chunks, CRLF, a last line without a
 * newline, the ANSI state at a far line, the true search count, byte ranges — and bad ranges are 4xx
 * with a code, never 5xx.
 */
import { blobKeys, LogIndexer, type LogRef } from '@distci/common';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { fakeRunningStep } from '../helpers/fake-step.js';
import { AUTH, embeddedStorage, jobConfig, testFrontend } from '../helpers/frontend.js';

const storage = await embeddedStorage(t);
const { app, store } = await testFrontend(t, storage);

async function api(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers: { ...AUTH, ...headers } });
}

await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') });

// 20,000 lines in CRLF, a colour turned on at line 3 and never off, a needle planted in some lines,
// the last line without a newline; cut into 37 chunks at odd places (lines span chunk boundaries).
const lines = Array.from({ length: 20_000 }, (_, i) =>
  i === 2 ? '\x1b[33myellow from here' : i % 4321 === 0 ? `line ${i + 1} NEEDLE needle` : `line ${i + 1}`,
);
lines.push('last line, no newline');
const LOG = Buffer.from(lines.join('\r\n'));
const NEEDLES = lines.reduce((n, l) => n + (l.toLowerCase().split('needle').length - 1), 0);
const CUTS = Array.from({ length: 36 }, (_, i) => Math.floor(((i + 1) * LOG.length) / 37) + 3);

async function writeLog(build: number, indexed: boolean) {
  await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });
  const step = await fakeRunningStep(store, 'web', build, 'build', 1);
  const ref: LogRef = { job: 'web', build, step: 'build', attempt: 1 };
  const indexer = new LogIndexer();
  const bounds = [0, ...CUTS, LOG.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const body = LOG.subarray(bounds[i], bounds[i + 1]);
    await app.distci.logs.append(ref, i, body);
    if (indexed) await app.distci.logs.appendIndex(ref, indexer.add(body, 1_700_000_000_000 + i * 1000));
  }
  await step.finish('success', bounds.length - 1);
}
await writeLog(1, true);
await writeLog(2, false);

for (const [build, kind] of [
  [1, 'indexed'],
  [2, 'legacy (no index objects)'],
] as const) {
  t.test(`lines of a ${kind} log`, async (t) => {
    const base = `/api/v1/jobs/web/builds/${build}/logs/build`;
    const first = await api(app, `${base}/lines?count=5`);
    t.equal(first.statusCode, 200);
    const page = first.json();
    t.same(page.text, lines.slice(0, 5), 'CR of CRLF dropped');
    t.match(page, { from: 1, lines: lines.length, bytes: LOG.length, chunks: 37, partial: true, finished: true });
    t.equal(page.ansi, '');
    // Every chunk boundary: the lines around it, whole.
    for (const cut of CUTS.slice(0, 6)) {
      const line = LOG.subarray(0, cut).toString().split('\n').length; // 1-based line holding the cut
      const res = (await api(app, `${base}/lines?from=${line - 1}&count=3`)).json();
      t.same(res.text, lines.slice(line - 2, line + 1), `lines around byte ${cut}`);
    }
    const far = (await api(app, `${base}/lines?from=19999&count=10`)).json();
    t.same(far.text, lines.slice(19_998), 'the last lines, the partial one too');
    t.equal(far.ansi, '\x1b[33m', 'the colour set at line 3 still holds at line 19,999');
    const tail = (await api(app, `${base}/lines?tail=1&count=2`)).json();
    t.same([tail.from, tail.text], [20_000, lines.slice(-2)]);
    if (build === 1) {
      t.same(far.times[0], [19_999, 1_700_000_000_000 + 36_000], 'the write time of its chunk');
    }
    // Only the first 3 chunks: a client that has seen 3 chunks gets a consistent page.
    const three = (await api(app, `${base}/lines?from=1&count=5000&chunks=3`)).json();
    t.equal(three.chunks, 3);
    t.equal(three.text.join('\r\n'), LOG.subarray(0, CUTS[2]).toString().replace(/\r$/, ''));
    t.equal(three.finished, false, 'a part of the log is not all of it');
  });

  t.test(`search of a ${kind} log: the true count, the lines, paged`, async (t) => {
    const base = `/api/v1/jobs/web/builds/${build}/logs/build`;
    const res = await api(app, `${base}/search?q=NeEdLe&limit=2`);
    t.equal(res.statusCode, 200);
    const found = res.json();
    const want = lines.flatMap((l, i) => (/needle/i.test(l) ? [i + 1] : []));
    t.match(found, { total: NEEDLES, matchedLines: want.length, hits: want.slice(0, 2), more: true });
    const next = (await api(app, `${base}/search?q=needle&after=${want[1]}`)).json();
    t.same(next.hits, want.slice(2));
    t.equal(next.more, false);
    const none = (await api(app, `${base}/search?q=${encodeURIComponent('no such text')}`)).json();
    t.same([none.total, none.hits], [0, []]);
  });

  t.test(`Range on the plain ${kind} log`, async (t) => {
    const url = `/api/v1/jobs/web/builds/${build}/logs/build`;
    const whole = await api(app, url);
    t.equal(whole.headers['accept-ranges'], 'bytes');
    t.equal(whole.rawPayload.length, LOG.length);
    const mid = CUTS[4]! - 10;
    const part = await api(app, url, { range: `bytes=${mid}-${mid + 99}` });
    t.equal(part.statusCode, 206);
    t.equal(part.headers['content-range'], `bytes ${mid}-${mid + 99}/${LOG.length}`);
    t.ok(part.rawPayload.equals(LOG.subarray(mid, mid + 100)), 'the bytes across a chunk boundary');
    const suffix = await api(app, url, { range: 'bytes=-21' });
    t.equal(suffix.statusCode, 206);
    t.equal(suffix.body, 'last line, no newline');
    const open = await api(app, url, { range: `bytes=${LOG.length - 5}-` });
    t.same([open.statusCode, open.body], [206, 'wline']);
    const past = await api(app, url, { range: `bytes=${LOG.length}-` });
    t.equal(past.statusCode, 416);
    t.equal(past.json().code, 'DISTCI_RANGE_NOT_SATISFIABLE');
    t.equal(past.headers['content-range'], `bytes */${LOG.length}`);
    const many = await api(app, url, { range: 'bytes=0-1,5-6' });
    t.same([many.statusCode, many.rawPayload.length], [200, LOG.length], 'several ranges: the whole log');
  });
}

t.test('bad requests are 4xx with a code, never 5xx', async (t) => {
  const base = '/api/v1/jobs/web/builds/1/logs/build';
  const cases: Array<[string, number, string]> = [
    [`${base}/lines?from=0`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?from=-5`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?count=0`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?count=100000`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?from=abc`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?from=${lines.length + 2}`, 416, 'DISTCI_RANGE_NOT_SATISFIABLE'],
    [`${base}/lines?from=99999999999`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/lines?attempt=7`, 404, 'DISTCI_ATTEMPT_NOT_FOUND'],
    [`${base}/lines?chunks=-1`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/search`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/search?q=`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/search?q=${'x'.repeat(300)}`, 400, 'DISTCI_BAD_REQUEST'],
    [`${base}/search?q=x&limit=0`, 400, 'DISTCI_BAD_REQUEST'],
    ['/api/v1/jobs/web/builds/1/logs/nope/lines', 404, 'DISTCI_STEP_NOT_FOUND'],
    ['/api/v1/jobs/web/builds/99/logs/build/search?q=x', 404, 'DISTCI_BUILD_NOT_FOUND'],
  ];
  for (const [url, status, code] of cases) {
    const res = await api(app, url);
    t.equal(res.statusCode, status, url);
    t.equal(res.json().code, code, url);
  }
  for (const range of ['bytes=5-2', 'bytes=abc', 'items=0-5', 'bytes=-', `bytes=${'9'.repeat(20)}-`]) {
    const res = await api(app, base, { range });
    t.equal(res.statusCode, 200, `${range}: ignored, the whole log`);
  }
  // Past the end, with a chunk count larger than the log: clamped, not a read of a missing chunk.
  const more = (await api(app, `${base}/lines?from=1&count=1&chunks=500`)).json();
  t.equal(more.chunks, 37);
  // A step not started yet has an empty log, not an error.
  await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH });
  const empty = await api(app, '/api/v1/jobs/web/builds/3/logs/test/lines');
  t.equal(empty.statusCode, 200);
  t.match(empty.json(), { attempt: null, lines: 0, text: [] });
  t.equal(await storage.blob.head(blobKeys.logIndex('web', 2, 'build', 1, 0)), null, 'the legacy log stayed unindexed');
});
