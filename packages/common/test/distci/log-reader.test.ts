/**
 * The log reader against the log itself: for logs cut into chunks anywhere (lines spanning chunks,
 * CRLF, ANSI colours, no trailing newline, a character split across chunks), indexed as the writer
 * indexes them, not indexed at all (legacy), or missing the last entry, every page of lines, the SGR
 * state at its start, every byte range and every search count equal what the whole log says.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectoryBlobStore } from '@distci/store-directory';
import fc from 'fast-check';
import t from 'tap';
import {
  advanceSgr,
  type BlobStore,
  blobKeys,
  createLogReader,
  LOG_CHECKPOINT_LINES,
  LogIndexer,
  type LogRef,
  openLogs,
  plainLine,
} from '../../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'distci-log-reader-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const blob: BlobStore = createDirectoryBlobStore({ dir, prefix: '' });
const logs = openLogs(blob);
let seq = 0;

type Mode = 'indexed' | 'legacy' | 'last-missing';

async function writeLog(bytes: Buffer, cuts: number[], mode: Mode): Promise<{ ref: LogRef; chunks: number }> {
  const ref: LogRef = { job: 'web', build: ++seq, step: 'run', attempt: 1 };
  const bounds = [...new Set([0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length])].sort(
    (a, b) => a - b,
  );
  const indexer = new LogIndexer();
  const chunks = bounds.length - 1;
  for (let i = 0; i < chunks; i++) {
    const body = bytes.subarray(bounds[i], bounds[i + 1]);
    await logs.append(ref, i, body);
    const entry = indexer.add(body, 1000 + i);
    if (mode === 'indexed' || (mode === 'last-missing' && i < chunks - 1)) await logs.appendIndex(ref, entry);
  }
  return { ref, chunks };
}

/** What the whole log says: its lines as a viewer splits them. */
function reference(bytes: Buffer) {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const nl = bytes.indexOf(0x0a, at);
    const end = nl < 0 ? bytes.length : nl;
    parts.push(bytes.subarray(at, end));
    at = end + 1;
  }
  const starts: number[] = [];
  for (let at = 0, i = 0; i < parts.length; i++) {
    starts.push(at);
    at += parts[i]!.length + 1;
  }
  const text = parts.map((p) => {
    const s = new TextDecoder().decode(p);
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  });
  return { text, ansiAt: (line: number) => advanceSgr('', bytes.subarray(0, starts[line])) };
}

function count(lines: string[], query: string) {
  const q = query.toLowerCase();
  let total = 0;
  const hits: number[] = [];
  lines.forEach((raw, i) => {
    const text = plainLine(raw).toLowerCase();
    let n = 0;
    for (let at = text.indexOf(q); at >= 0; at = text.indexOf(q, at + q.length)) n++;
    total += n;
    if (n) hits.push(i + 1);
  });
  return { total, hits };
}

const SAMPLE = Buffer.from(
  [
    'plain line',
    '\x1b[1;31mred bold\x1b[0m then plain',
    'windows\r',
    '\x1b[32mgreen runs on',
    'still green NEEDLE',
    'progress 10%\rprogress 100% needle\x1b[0m',
    'ünïcødé ✓ 🚀 NeEdLe',
    '',
    'NEE\x1b[0mDLE split by an escape',
    'no trailing newline',
  ].join('\n'),
);

t.test('every page, SGR state, byte range and search of a small log, however it is cut', async (t) => {
  const ref0 = reference(SAMPLE);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: SAMPLE.length - 1 }), { maxLength: 12 }),
      fc.constantFrom<Mode>('indexed', 'legacy', 'last-missing'),
      fc.integer({ min: 1, max: ref0.text.length }),
      fc.integer({ min: 1, max: 12 }),
      async (cuts, mode, from, n) => {
        const { ref, chunks } = await writeLog(SAMPLE, cuts, mode);
        const reader = createLogReader(blob);
        const page = await reader.lines(ref, { from, count: n });
        if (page.lines !== ref0.text.length) throw new Error(`lines ${page.lines}`);
        if (page.chunks !== chunks) throw new Error(`chunks ${page.chunks} ≠ ${chunks}`);
        if (!page.partial) throw new Error('the last line has no newline');
        const want = ref0.text.slice(from - 1, from - 1 + n);
        if (JSON.stringify(page.text) !== JSON.stringify(want))
          throw new Error(`${mode} ${cuts} from ${from}: ${JSON.stringify(page.text)} ≠ ${JSON.stringify(want)}`);
        if (page.ansi !== ref0.ansiAt(from - 1)) throw new Error(`ansi at ${from}: ${JSON.stringify(page.ansi)}`);
        const found = await reader.search(ref, 'needle');
        const expected = count(ref0.text, 'needle');
        if (found.total !== expected.total || JSON.stringify(found.hits) !== JSON.stringify(expected.hits))
          throw new Error(`search ${JSON.stringify(found)} ≠ ${JSON.stringify(expected)}`);
        const a = Math.min(from * 3, SAMPLE.length - 1);
        const b = Math.min(a + n * 7, SAMPLE.length - 1);
        const got: Buffer[] = [];
        for await (const part of reader.bytes(ref, a, b, chunks)) got.push(part);
        if (!Buffer.concat(got).equals(SAMPLE.subarray(a, b + 1))) throw new Error(`bytes ${a}-${b}`);
      },
    ),
    { numRuns: 120 },
  );
  t.pass('120 cuts, pages, ranges and searches agree with the whole log');
});

t.test('a log of many chunks: far lines via checkpoints, tail, sizes, a probed chunk count', async (t) => {
  const lines = Array.from({ length: 25_000 }, (_, i) =>
    i % 997 === 0 ? `\x1b[3${i % 8}mline ${i + 1} colour${i % 2991 === 0 ? ' PLANTED' : ''}` : `line ${i + 1}`,
  );
  lines[12_345] = 'here is PLANTED and planted';
  const bytes = Buffer.from(`${lines.join('\r\n')}\r\n`);
  const cuts = Array.from({ length: 40 }, (_, i) => Math.floor(((i + 1) * bytes.length) / 41) + (i % 3));
  for (const mode of ['indexed', 'legacy', 'last-missing'] as Mode[]) {
    const { ref, chunks } = await writeLog(bytes, cuts, mode);
    const reader = createLogReader(blob);
    const ref0 = reference(bytes);
    const size = await reader.size(ref); // no count given: probed
    t.same(size, { chunks, bytes: bytes.length, lines: 25_000, partial: false }, `${mode}: size`);
    for (const from of [1, 999, 1000, 1001, 12_346, 24_990, LOG_CHECKPOINT_LINES * 7 + 1]) {
      const page = await reader.lines(ref, { from, count: 20, chunks });
      t.same(page.text, ref0.text.slice(from - 1, from + 19), `${mode}: lines ${from}…`);
      t.equal(page.ansi, ref0.ansiAt(from - 1), `${mode}: SGR state at ${from}`);
    }
    const tail = await reader.lines(ref, { tail: true, count: 5, chunks });
    t.equal(tail.from, 24_996);
    t.same(tail.text, ref0.text.slice(-5));
    const found = await reader.search(ref, 'planted', { chunks, limit: 2 });
    const expected = count(ref0.text, 'planted');
    t.equal(found.total, expected.total, `${mode}: the true count`);
    t.same(found.hits, expected.hits.slice(0, 2));
    t.equal(found.more, expected.hits.length > 2);
    const after = await reader.search(ref, 'planted', { chunks, after: expected.hits[1]! });
    t.same(after.hits, expected.hits.slice(2), 'the next page of hits');
  }
});

t.test('the writer keys: an index entry sits beside its chunk, not among the chunk numbers', async (t) => {
  t.equal(blobKeys.logIndex('web', 3, 'run', 2, 7), 'builds/web/3/logs/run/2/index/0000000007');
});

t.test('an empty log and a log of one newline', async (t) => {
  const reader = createLogReader(blob);
  const empty: LogRef = { job: 'web', build: ++seq, step: 'run', attempt: 1 };
  t.same(await reader.size(empty), { chunks: 0, bytes: 0, lines: 0, partial: false });
  t.same((await reader.lines(empty, { from: 1, count: 10 })).text, []);
  const { ref } = await writeLog(Buffer.from('\n'), [], 'indexed');
  const page = await reader.lines(ref, { from: 1, count: 10 });
  t.same([page.lines, page.text, page.partial], [1, [''], false]);
});
