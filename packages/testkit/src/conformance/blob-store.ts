/**
 * The BlobStore conformance suite: one set of tests that every adapter (S3, directory) must pass,
 * proving the semantics written in `src/blob-store.ts`.
 *
 * An adapter's test file calls `blobConformance(t, harness)` with `open(prefix)`: a new store whose keys
 * live under `prefix` (unique to one test, made by `uniqueName`). Each test opens its own store and
 * closes it in a teardown.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore, PutOptions } from '@distci/common';
import { listAll, readBlob } from '@distci/common/adapter-support';
import type { Test } from 'tap';
import { uniqueName } from '../harness/services.js';

export interface BlobHarness {
  name: string;
  open(prefix: string): Promise<BlobStore>;
  /** A store whose container (bucket, root directory) does not exist yet, named `name`. */
  openMissing(name: string): Promise<BlobStore>;
}

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;

/** `size` random bytes as a stream of odd-sized chunks (so part boundaries fall inside chunks). */
function randomStream(size: number): { stream: Readable; sha256: string } {
  const data = randomBytes(size);
  const chunk = 1_000_003;
  const stream = Readable.from(
    (function* () {
      for (let at = 0; at < size; at += chunk) yield data.subarray(at, Math.min(at + chunk, size));
    })(),
  );
  return { stream, sha256: sha256(data) };
}

/** A stream that yields `before` bytes, then fails. */
function failingStream(before: number): Readable {
  return Readable.from(
    (async function* () {
      const chunk = 256 * 1024;
      for (let at = 0; at < before; at += chunk) yield Buffer.alloc(Math.min(chunk, before - at), 7);
      throw new Error('the source broke');
    })(),
  );
}

export function blobConformance(t: Test, harness: BlobHarness): void {
  async function open(t: Test): Promise<BlobStore> {
    const store = await harness.open(uniqueName('blob'));
    t.teardown(() => store.close());
    return store;
  }
  const keysOf = async (store: BlobStore, prefix = '') => {
    const keys: string[] = [];
    for await (const blob of listAll(store, { prefix })) keys.push(blob.key);
    return keys;
  };

  t.test(`${harness.name}: a missing container is reported, created once, then used`, async (t) => {
    const store = await harness.openMissing(uniqueName('container'));
    t.teardown(() => store.close());
    t.match(store.where, /\S/, 'says where its objects live');
    t.equal(await store.containerExists(), false, 'missing before');
    t.equal(await store.createContainer(), true, 'created by the first call');
    t.equal(await store.containerExists(), true, 'exists after');
    t.equal(await store.createContainer(), false, 'a second call creates nothing');
    await store.put('k', 'v');
    t.equal((await readBlob(store, 'k')).toString(), 'v');
    await store.delete('k');
  });

  t.test(`${harness.name}: put and get buffers, strings and small streams`, async (t) => {
    const store = await open(t);
    const put1 = await store.put('docs/buffer.bin', Buffer.from([0, 1, 2, 255]));
    t.equal(put1.etag, md5(Buffer.from([0, 1, 2, 255])), 'ETag = md5 of the body, without quotes');
    t.same(await readBlob(store, 'docs/buffer.bin'), Buffer.from([0, 1, 2, 255]));

    const put2 = await store.put('docs/string.txt', 'héllo wörld', { contentType: 'text/plain; charset=utf-8' });
    t.equal(put2.etag, md5('héllo wörld'));
    const got = await store.get('docs/string.txt');
    t.equal(got.info.contentType, 'text/plain; charset=utf-8');
    t.equal(got.info.size, Buffer.byteLength('héllo wörld'));
    t.equal(got.info.etag, put2.etag);
    t.equal(got.info.key, 'docs/string.txt');
    t.ok(got.info.lastModified instanceof Date && Math.abs(got.info.lastModified.getTime() - Date.now()) < 60_000);
    t.equal((await readAll(got.body)).toString(), 'héllo wörld');

    const view = new Uint8Array(Buffer.from('xxabcxx').buffer, Buffer.from('xxabcxx').byteOffset + 2, 3);
    await store.put('docs/view', view);
    t.equal((await readBlob(store, 'docs/view')).toString(), 'abc', 'a Uint8Array view is stored as its bytes only');

    const put3 = await store.put('docs/stream', Readable.from([Buffer.from('str'), 'eam']));
    t.equal(put3.etag, md5('stream'));
    t.equal((await readBlob(store, 'docs/stream')).toString(), 'stream');

    await store.put('docs/empty', '');
    t.equal((await readBlob(store, 'docs/empty')).length, 0);
    await store.put('docs/empty-stream', Readable.from([]));
    t.equal((await store.head('docs/empty-stream'))?.size, 0);
  });

  t.test(`${harness.name}: a multipart-sized stream (12 MiB) comes back byte for byte`, async (t) => {
    const store = await open(t);
    const body = randomStream(12 * MiB);
    const { etag } = await store.put('big/workspace.tar', body.stream, { contentType: 'application/x-tar' });
    const head = await store.head('big/workspace.tar');
    t.equal(head?.size, 12 * MiB);
    t.equal(head?.etag, etag, 'the put returns the ETag a head shows');
    t.equal(head?.contentType, 'application/x-tar');
    t.equal(sha256(await readBlob(store, 'big/workspace.tar')), body.sha256);
  });

  t.test(`${harness.name}: head, content type default and not-found errors`, async (t) => {
    const store = await open(t);
    t.equal(await store.head('nope'), null);
    await t.rejects(store.get('nope'), { code: 'DISTCI_BLOB_NOT_FOUND', status: 404 });
    await t.rejects(store.get('no/such/dir/key'), { code: 'DISTCI_BLOB_NOT_FOUND' });
    await store.put('x', 'data');
    const head = await store.head('x');
    t.equal(head?.contentType, 'application/octet-stream');
    t.equal(head?.key, 'x');
    t.equal(head?.size, 4);
  });

  t.test(`${harness.name}: list with prefix, delimiter, limit and cursor`, async (t) => {
    const store = await open(t);
    for (const key of ['l/a', 'l/b', 'l/c', 'l/d', 'l/e']) await store.put(key, key);
    await store.put('other', 'o');

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      const r = await store.list({ prefix: 'l/', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...r.blobs.map((b) => b.key));
      sizes.push(r.blobs.length);
      t.same(r.prefixes, []);
      if (!r.cursor) break;
      cursor = r.cursor;
      t.ok(page < 5, 'pages end');
    }
    t.same(seen, ['l/a', 'l/b', 'l/c', 'l/d', 'l/e']);
    t.same(sizes, [2, 2, 1]);

    const exact = await store.list({ prefix: 'l/', limit: 5 });
    t.equal(exact.blobs.length, 5);
    t.equal(exact.cursor, null, 'no cursor when nothing follows, even if the page is full');
    const blob = exact.blobs[0]!;
    t.equal(blob.size, 3);
    t.equal(blob.etag, md5('l/a'));
    t.ok(blob.lastModified instanceof Date);

    t.same(
      (await store.list()).blobs.map((b) => b.key),
      ['l/a', 'l/b', 'l/c', 'l/d', 'l/e', 'other'],
    );
    t.same(
      (await store.list({ prefix: 'l/c' })).blobs.map((b) => b.key),
      ['l/c'],
    );
    t.same(await store.list({ prefix: 'zzz' }), { blobs: [], prefixes: [], cursor: null });
    await t.rejects(store.list({ limit: 0 }), { code: 'DISTCI_BAD_OPTION' });
    await t.rejects(store.list({ limit: 1001 }), { code: 'DISTCI_BAD_OPTION' });
  });

  t.test(`${harness.name}: delimiter rolls keys up into prefixes, counted by limit`, async (t) => {
    const store = await open(t);
    for (const key of ['l/a', 'l/b', 'l/c', 'l/d', 'l/d/x', 'l/d/y', 'l/e/z', 'l/f']) await store.put(key, key);

    const all = await store.list({ prefix: 'l/', delimiter: '/' });
    t.same(
      all.blobs.map((b) => b.key),
      ['l/a', 'l/b', 'l/c', 'l/d', 'l/f'],
    );
    t.same(all.prefixes, ['l/d/', 'l/e/']);
    t.equal(all.cursor, null);

    const pages: { keys: string[]; prefixes: string[] }[] = [];
    let cursor: string | undefined;
    do {
      const r = await store.list({ prefix: 'l/', delimiter: '/', limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push({ keys: r.blobs.map((b) => b.key), prefixes: r.prefixes });
      cursor = r.cursor ?? undefined;
    } while (cursor);
    t.same(pages, [
      { keys: ['l/a', 'l/b'], prefixes: [] },
      { keys: ['l/c', 'l/d'], prefixes: [] },
      { keys: [], prefixes: ['l/d/', 'l/e/'] },
      { keys: ['l/f'], prefixes: [] },
    ]);

    const top = await store.list({ delimiter: '/' });
    t.same(top, { blobs: [], prefixes: ['l/'], cursor: null });
    const partial = await store.list({ prefix: 'l/d', delimiter: '/' });
    t.same(
      partial.blobs.map((b) => b.key),
      ['l/d'],
    );
    t.same(partial.prefixes, ['l/d/']);
    const other = await store.list({ prefix: 'l/', delimiter: 'd' });
    t.same(
      other.blobs.map((b) => b.key),
      ['l/a', 'l/b', 'l/c', 'l/e/z', 'l/f'],
    );
    t.same(other.prefixes, ['l/d'], 'any delimiter, not only "/"');
  });

  t.test(`${harness.name}: keys list in ascending UTF-8 byte order`, async (t) => {
    const store = await open(t);
    const keys = [
      'a',
      'a/b',
      'a-c',
      'a.d',
      'a0',
      'B',
      'b',
      'é',
      'z/é',
      'z/e',
      'Z',
      '~',
      '%41',
      'a b',
      '😀',
      '\ufffd',
      'plus+sign',
      'ctrl\x01char',
    ];
    for (const key of [...keys].reverse()) await store.put(key, key);
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    t.same(await keysOf(store), sorted);
    for (const key of keys) t.equal((await readBlob(store, key)).toString(), key, `${key} round-trips`);
  });

  t.test(`${harness.name}: delete is idempotent; a and a/b coexist`, async (t) => {
    const store = await open(t);
    await store.put('a', 'file a');
    await store.put('a/b', 'file a/b');
    await store.put('a/b/c', 'file a/b/c');
    t.equal((await readBlob(store, 'a')).toString(), 'file a');
    t.equal((await readBlob(store, 'a/b')).toString(), 'file a/b');
    t.same(await keysOf(store), ['a', 'a/b', 'a/b/c']);

    await store.delete('a/b');
    t.equal(await store.head('a/b'), null);
    t.equal((await readBlob(store, 'a')).toString(), 'file a');
    t.equal((await readBlob(store, 'a/b/c')).toString(), 'file a/b/c');
    await store.delete('a/b');
    await store.delete('never/was/here');
    await store.delete('a/b/c');
    t.same(await keysOf(store), ['a']);
    t.same(await store.list({ delimiter: '/' }), { blobs: [await infoOf(store, 'a')], prefixes: [], cursor: null });
    await store.put('a/b', 'again');
    t.equal((await readBlob(store, 'a/b')).toString(), 'again');
  });

  t.test(`${harness.name}: bad keys are refused and nothing is written`, async (t) => {
    const store = await open(t);
    const bad = ['../x', '/abs', 'a//b', '', 'a/./b', 'a/../../b', 'a\\b', 'trailing/', 'nul\0x'];
    for (const key of bad) {
      await t.rejects(store.put(key, 'x'), { code: 'DISTCI_BAD_PATH' }, `put ${JSON.stringify(key)}`);
      const stream = Readable.from(['x']);
      await t.rejects(store.put(key, stream), { code: 'DISTCI_BAD_PATH' });
      t.ok(stream.destroyed, 'a refused put destroys the stream it was given');
      await t.rejects(store.get(key), { code: 'DISTCI_BAD_PATH' }, `get ${JSON.stringify(key)}`);
      await t.rejects(store.head(key), { code: 'DISTCI_BAD_PATH' });
      await t.rejects(store.delete(key), { code: 'DISTCI_BAD_PATH' });
    }
    t.same(await store.list(), { blobs: [], prefixes: [], cursor: null });
    await t.rejects(store.put('k', 'x', { contentType: 'bad\ntype' }), { code: 'DISTCI_BAD_OPTION' });
    await t.rejects(store.put('k', 'x', { ifMatch: 'a', ifNoneMatch: '*' }), { code: 'DISTCI_BAD_OPTION' });
    t.equal(await store.head('k'), null);
  });

  t.test(`${harness.name}: conditional puts`, async (t) => {
    const store = await open(t);
    const v1 = await store.put('jobs/web/config.json', '{"v":1}', { ifNoneMatch: '*' });
    await t.rejects(store.put('jobs/web/config.json', '{"v":"x"}', { ifNoneMatch: '*' }), {
      code: 'DISTCI_BLOB_CONFLICT',
      status: 412,
    });
    t.equal((await readBlob(store, 'jobs/web/config.json')).toString(), '{"v":1}', 'unchanged by the conflict');

    const v2 = await store.put('jobs/web/config.json', '{"v":2}', { ifMatch: v1.etag });
    t.not(v2.etag, v1.etag);
    await t.rejects(store.put('jobs/web/config.json', '{"v":3}', { ifMatch: v1.etag }), {
      code: 'DISTCI_BLOB_CONFLICT',
      status: 412,
    });
    const head = await store.head('jobs/web/config.json');
    t.equal(head?.etag, v2.etag, 'unchanged by the conflict');
    t.equal((await readBlob(store, 'jobs/web/config.json')).toString(), '{"v":2}');

    await t.rejects(store.put('jobs/none/config.json', 'x', { ifMatch: v1.etag }), { code: 'DISTCI_BLOB_CONFLICT' });
    t.equal(await store.head('jobs/none/config.json'), null, 'ifMatch never creates');

    await store.delete('jobs/web/config.json');
    await t.rejects(store.put('jobs/web/config.json', 'x', { ifMatch: v2.etag }), { code: 'DISTCI_BLOB_CONFLICT' });
    const v3 = await store.put('jobs/web/config.json', '{"v":3}', { ifNoneMatch: '*' });
    t.equal(v3.etag, md5('{"v":3}'), 'creating again after a delete works');
  });

  t.test(`${harness.name}: conditional puts of streams longer than a part`, async (t) => {
    const store = await open(t);
    const first = randomStream(9 * MiB);
    const put = await store.put('ws/a.tar', first.stream, { ifNoneMatch: '*' });
    t.equal(sha256(await readBlob(store, 'ws/a.tar')), first.sha256);
    await t.rejects(store.put('ws/a.tar', randomStream(9 * MiB).stream, { ifNoneMatch: '*' }), {
      code: 'DISTCI_BLOB_CONFLICT',
    });
    await t.rejects(store.put('ws/a.tar', randomStream(9 * MiB).stream, { ifMatch: 'f'.repeat(32) }), {
      code: 'DISTCI_BLOB_CONFLICT',
    });
    t.equal((await store.head('ws/a.tar'))?.etag, put.etag, 'unchanged by the conflicts');
    const second = randomStream(9 * MiB);
    const replaced = await store.put('ws/a.tar', second.stream, { ifMatch: put.etag });
    t.equal((await store.head('ws/a.tar'))?.etag, replaced.etag);
    t.equal(sha256(await readBlob(store, 'ws/a.tar')), second.sha256);
  });

  t.test(`${harness.name}: a body stream that fails writes nothing`, async (t) => {
    const store = await open(t);
    await t.rejects(store.put('small', failingStream(1000)), { code: 'DISTCI_BLOB_STORE_ERROR' });
    await t.rejects(store.put('large', failingStream(20 * MiB)), { code: 'DISTCI_BLOB_STORE_ERROR' });
    await t.rejects(store.put('cond', failingStream(10 * MiB), { ifNoneMatch: '*' }), {
      code: 'DISTCI_BLOB_STORE_ERROR',
    });
    await store.put('kept', 'old');
    await t.rejects(store.put('kept', failingStream(20 * MiB)), { code: 'DISTCI_BLOB_STORE_ERROR' });
    t.equal(await store.head('small'), null);
    t.equal(await store.head('large'), null);
    t.equal(await store.head('cond'), null);
    t.equal((await readBlob(store, 'kept')).toString(), 'old');
    t.same(await keysOf(store), ['kept']);
  });

  /**
   * 16 writers race one conditional put per round, 10 rounds: exactly one wins, every other one gets
   * DISTCI_BLOB_CONFLICT (not another error: RGW answers most If-Match losers with 500), and the stored
   * body is the winner's.
   */
  async function race(t: Test, store: BlobStore, key: (round: number) => string, put: (round: number) => PutOptions) {
    const losers: Record<string, number> = {};
    for (let round = 0; round < 10; round++) {
      const bodies = Array.from({ length: 16 }, (_, i) => `writer ${i} ${randomBytes(8).toString('hex')}`);
      const results = await Promise.allSettled(bodies.map((body) => store.put(key(round), body, put(round))));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      for (const r of results) {
        if (r.status === 'rejected') {
          const code = String((r.reason as { code?: unknown }).code ?? r.reason);
          losers[code] = (losers[code] ?? 0) + 1;
        }
      }
      t.equal(winners.length, 1, `round ${round}: one winner`);
      const body = bodies[winners[0] ?? -1] ?? '';
      t.equal((await readBlob(store, key(round))).toString(), body, `round ${round}: the stored body is the winner's`);
      t.equal((await store.head(key(round)))?.etag, md5(body));
    }
    t.same(losers, { DISTCI_BLOB_CONFLICT: 150 }, 'every loser got a conflict');
  }

  t.test(`${harness.name}: 16 concurrent ifNoneMatch puts have exactly one winner`, async (t) => {
    const store = await open(t);
    await race(
      t,
      store,
      (round) => `race/create-${round}`,
      () => ({ ifNoneMatch: '*' }),
    );
  });

  t.test(`${harness.name}: 16 concurrent ifMatch puts on one ETag have exactly one winner`, async (t) => {
    const store = await open(t);
    const etags: string[] = [];
    for (let round = 0; round < 10; round++) etags.push((await store.put(`race/cas-${round}`, 'v0')).etag);
    await race(
      t,
      store,
      (round) => `race/cas-${round}`,
      (round) => ({ ifMatch: etags[round]! }),
    );
  });

  t.test(`${harness.name}: a closed store refuses work`, async (t) => {
    const store = await harness.open(uniqueName('blob'));
    await store.put('k', 'v');
    await store.close();
    await store.close();
    await t.rejects(store.put('k', 'v'), { code: 'DISTCI_STORE_CLOSED' });
    await t.rejects(store.get('k'), { code: 'DISTCI_STORE_CLOSED' });
    await t.rejects(store.list(), { code: 'DISTCI_STORE_CLOSED' });
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function infoOf(store: BlobStore, key: string) {
  const page = await store.list({ prefix: key, limit: 1 });
  return page.blobs[0];
}
