/**
 * The directory adapter: the shared conformance suite on a temp dir, then what only a directory has —
 * conditional puts raced by separate processes, symlinks planted inside the root, the on-disk layout,
 * locks left by dead processes, and files that are not objects.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readBlob } from '@distci/common/adapter-support';
import { blobConformance } from '@distci/testkit';
import t, { type Test } from 'tap';
import { createDirectoryBlobStore } from '../src/directory-blob-store.js';

const root = t.testdir();

blobConformance(t, {
  name: 'directory',
  open: async (prefix) => createDirectoryBlobStore({ dir: root, prefix }),
  openMissing: async (name) => createDirectoryBlobStore({ dir: join(root, 'missing', name), prefix: '' }),
});

/** A store on a fresh directory of its own (`t.testdir()`, or `dir`), closed when `t` ends. */
function fresh(t: Test, dir = t.testdir()) {
  const store = createDirectoryBlobStore({ dir, prefix: '' });
  t.teardown(() => store.close());
  return { dir, store };
}

const fixture = join(import.meta.dirname, 'fixtures', 'directory-blob-put.ts');

/**
 * Starts one child process per `args` entry (`fixtures/directory-blob-put.ts <dir> <key> …args`), waits
 * until all are ready, starts them together and returns each one's JSON answer.
 */
async function raceChildren(t: Test, dir: string, key: string, args: string[][]) {
  const children = args.map((extra) => {
    const child = spawn(process.execPath, ['--import=tsx', '--conditions=distci-source', fixture, dir, key, ...extra], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const next = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, next, exited: once(child, 'exit') };
  });
  for (const c of children) t.equal((await c.next.next()).value, 'ready');
  for (const c of children) c.child.stdin.end('go\n');
  return Promise.all(
    children.map(async (c) => {
      const line = (await c.next.next()).value as string;
      await c.exited;
      return JSON.parse(line) as { etag?: string; code?: string; conflicts?: number };
    }),
  );
}

/** `n` processes each putting its own body at `key`, conditionally; the bodies and the answers. */
async function racePuts(t: Test, dir: string, key: string, n: number, ifMatch?: string) {
  const bodies = Array.from({ length: n }, (_, i) => `process ${i}`);
  const answers = await raceChildren(
    t,
    dir,
    key,
    bodies.map((body) => (ifMatch ? ['replace', body, ifMatch] : ['create', body])),
  );
  return answers.map((answer, i) => ({ body: bodies[i]!, ...answer }));
}

t.test('directory: 8 processes race ifNoneMatch puts; exactly one wins', async (t) => {
  const { dir, store } = fresh(t);
  const results = await racePuts(t, dir, 'race/create', 8);
  const winners = results.filter((r) => r.etag);
  t.equal(winners.length, 1, 'one winner');
  t.same(
    results.filter((r) => !r.etag).map((r) => r.code),
    Array(7).fill('DISTCI_BLOB_CONFLICT'),
    'the others conflict',
  );
  t.equal((await readBlob(store, 'race/create')).toString(), winners[0]!.body);
  t.equal((await store.head('race/create'))?.etag, winners[0]!.etag);
});

t.test('directory: 8 processes race ifMatch puts on one ETag; exactly one wins', async (t) => {
  const { dir, store } = fresh(t);
  const { etag } = await store.put('race/cas', 'v0');
  const results = await racePuts(t, dir, 'race/cas', 8, etag);
  const winners = results.filter((r) => r.etag);
  t.equal(winners.length, 1, 'one winner');
  t.same(
    results.filter((r) => !r.etag).map((r) => r.code),
    Array(7).fill('DISTCI_BLOB_CONFLICT'),
    'the others conflict',
  );
  t.equal((await readBlob(store, 'race/cas')).toString(), winners[0]!.body);
  t.same(readdirSync(join(dir, 'race~')), ['cas'], 'no lock, staging or temp file is left behind');
});

t.test('directory: 8 processes × 25 compare-and-set increments lose no update', async (t) => {
  const { dir, store } = fresh(t);
  await store.put('counter', '0');
  const answers = await raceChildren(t, dir, 'counter', Array(8).fill(['count', '25']));
  t.same(
    answers.filter((a) => a.code),
    [],
    'no errors',
  );
  t.equal((await readBlob(store, 'counter')).toString(), '200', 'every increment counted exactly once');
  const conflicts = answers.reduce((sum, a) => sum + (a.conflicts ?? 0), 0);
  t.ok(conflicts > 0, `the processes did collide (${conflicts} conflicts, retried)`);
});

t.test('directory: symlinks planted inside the root are never followed out', async (t) => {
  const tmp = t.testdir({ store: {}, outside: { 'secret.txt': 'top secret' } });
  const { dir, store } = fresh(t, join(tmp, 'store'));
  const outside = join(tmp, 'outside');
  await store.put('safe/x', 'x');
  symlinkSync(outside, join(dir, 'evil~')); // looks like the directory of keys 'evil/…'
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak')); // looks like the object 'leak'
  symlinkSync(outside, join(dir, 'safe~', 'deeper~'));

  for (const key of ['evil/secret.txt', 'leak', 'safe/deeper/secret.txt']) {
    await t.rejects(store.get(key), { code: 'DISTCI_BAD_PATH', message: /symlink/ }, `get ${key}`);
    await t.rejects(store.head(key), { code: 'DISTCI_BAD_PATH' }, `head ${key}`);
  }
  await t.rejects(store.put('evil/new.txt', 'x'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.put('safe/deeper/new.txt', 'x'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.delete('evil/secret.txt'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.put('leak', 'x', { ifNoneMatch: '*' }), { code: 'DISTCI_BLOB_CONFLICT' });
  await t.rejects(store.put('leak', 'x', { ifMatch: 'abc' }), { code: 'DISTCI_BAD_PATH' });
  t.same(
    (await store.list()).blobs.map((b) => b.key),
    ['safe/x'],
    'listings skip symlinks',
  );
  t.same((await store.list({ prefix: 'evil/' })).blobs, []);
  t.same((await store.list({ delimiter: '/' })).prefixes, ['safe/']);

  // Replacing or deleting the symlink 'leak' touches the link, never its target.
  await store.put('leak', 'mine');
  t.equal((await readBlob(store, 'leak')).toString(), 'mine');
  await store.delete('leak');
  t.same(readdirSync(outside), ['secret.txt'], 'nothing was written outside the root');
  t.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'top secret');
});

t.test('directory: the on-disk layout lets a and a/b coexist and is case-safe', async (t) => {
  const { dir, store } = fresh(t);
  await store.put('a', '1');
  await store.put('a/b', '2');
  await store.put('A/B', '3');
  await store.put('a b/é', '4');
  t.same(readdirSync(dir).sort(), ['%41~', 'a', 'a%20b~', 'a~']);
  t.same(readdirSync(join(dir, 'a~')), ['b']);
  t.same(readdirSync(join(dir, '%41~')), ['%42']);
  t.same(readdirSync(join(dir, 'a%20b~')), ['%C3%A9']);
  await store.delete('A/B');
  t.notOk(existsSync(join(dir, '%41~')), 'empty key directories are pruned');
  await t.rejects(store.put(`long/${'X'.repeat(100)}`, 'x'), { code: 'DISTCI_BAD_PATH', message: /too long/ });
});

t.test('directory: a lock left by a dead process is broken; stray files are not objects', async (t) => {
  const { dir, store } = fresh(t);
  await store.put('jobs/web/config.json', 'v1');
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  const dead = { pid: child.pid, host: hostname(), token: 'dead' };
  writeFileSync(join(dir, 'jobs~', 'web~', 'config.json~lock'), JSON.stringify(dead));
  const { etag } = await store.put('jobs/web/config.json', 'v2');
  t.equal((await readBlob(store, 'jobs/web/config.json')).toString(), 'v2');
  await store.put('jobs/web/config.json', 'v3', { ifMatch: etag });
  t.same(readdirSync(join(dir, 'jobs~', 'web~')), ['config.json'], 'the stale lock is gone');

  writeFileSync(join(dir, 'jobs~', '~tmp-123'), 'half a body');
  writeFileSync(join(dir, 'jobs~', 'x~lock'), '{}');
  writeFileSync(join(dir, 'jobs~', 'NotEncoded'), 'a file someone dropped');
  mkdirSync(join(dir, 'empty~'));
  t.same(
    (await store.list()).blobs.map((b) => b.key),
    ['jobs/web/config.json'],
  );
  t.same((await store.list({ delimiter: '/' })).prefixes, ['jobs/'], 'an empty key directory is no prefix');

  writeFileSync(join(dir, 'jobs~', 'corrupt'), 'not a blob');
  await t.rejects(store.get('jobs/corrupt'), { code: 'DISTCI_BLOB_STORE_ERROR', message: /not a distci blob/ });
});
