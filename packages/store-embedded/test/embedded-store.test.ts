/**
 * The embedded coordination store: the shared conformance suite (in memory, and on a data dir), then
 * what only the embedded store has — persistence across restarts (snapshot + log replay, a torn log
 * tail, a SIGKILL mid-write), the data-dir lock, and its ZooKeeper details (cversion, sequential
 * counters, event order, session expiry states, paths, request size).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CoordinationStore, SessionState, WatchEvent } from '@distci/common';
import { type CoordinationHarness, coordinationConformance, dumpTree } from '@distci/testkit';
import t, { type Test } from 'tap';
import { createEmbeddedServer, createEmbeddedStore, type EmbeddedServer } from '../src/embedded-store.js';

const buf = (s: string) => Buffer.from(s);

function harnessOn(name: string, server: EmbeddedServer): CoordinationHarness {
  return {
    name,
    open: (namespace, options) => server.connect({ chroot: namespace, ...options }),
    expireSession: (store) => server.expireSession(store.sessionId!),
  };
}

const memory = createEmbeddedServer();
t.teardown(() => memory.close());
coordinationConformance(t, harnessOn('embedded (memory)', memory));

const persisted = createEmbeddedServer({ dataDir: t.testdir(), snapshotEveryTxns: 97 });
t.teardown(() => persisted.close());
coordinationConformance(t, harnessOn('embedded (data dir)', persisted));

/** A server on `dataDir` and one client, both closed when `t` ends (closing twice is fine). */
async function open(
  t: Test,
  dataDir: string,
  options = {},
): Promise<{ server: EmbeddedServer; store: CoordinationStore }> {
  const server = createEmbeddedServer({ dataDir, ...options });
  t.teardown(() => server.close());
  return { server, store: await server.connect() };
}

function nextEvent(): { watcher: (e: WatchEvent) => void; event: Promise<WatchEvent> } {
  let watcher!: (e: WatchEvent) => void;
  const event = new Promise<WatchEvent>((resolve) => {
    watcher = resolve;
  });
  return { watcher, event };
}

t.test('persistent nodes and sequential counters survive a restart; ephemeral nodes do not', async (t) => {
  const dir = t.testdir();
  const first = await open(t, dir);
  await first.store.create('/jobs');
  await first.store.create('/jobs/web', buf('{"etag":"1"}'));
  await first.store.set('/jobs/web', buf('{"etag":"2"}'), 0);
  const seq = await first.store.create('/jobs/web/b-', buf('build'), 'persistent-sequential');
  await first.store.create('/jobs/web/claim-', undefined, 'ephemeral-sequential');
  await first.store.create('/lease', buf('mine'), 'ephemeral');
  const sessionBefore = first.store.sessionId;
  await first.server.close();

  const second = await open(t, dir);
  t.equal(second.server.recovery?.replayedTxns, 7, 'six ops and the close of the session');
  const web = await second.store.get('/jobs/web');
  t.equal(web.data.toString(), '{"etag":"2"}');
  t.equal(web.stat.version, 1, 'the data version is kept');
  t.same(await second.store.children('/jobs/web'), [seq.slice('/jobs/web/'.length)], 'the ephemeral child is gone');
  t.equal(await second.store.exists('/lease'), null);
  t.equal(web.stat.cversion, 3, 'two creates and the delete of the ephemeral at restart');
  const next = await second.store.create('/jobs/web/b-', undefined, 'persistent-sequential');
  t.equal(next, '/jobs/web/b-0000000002', 'the counter goes on after the ephemeral sequential one');
  t.not(second.store.sessionId, sessionBefore, 'sessions are never reused');
});

t.test('snapshot + log replay reproduces the tree exactly', async (t) => {
  const dir = t.testdir();
  // A snapshot every 25 transactions: 400 ops cross many of them, and end between two.
  const { server, store } = await open(t, dir, { snapshotEveryTxns: 25 });
  const rnd = mulberry32(7);
  const paths = ['/'];
  for (let i = 0; i < 400; i++) {
    const parent = paths[Math.floor(rnd() * paths.length)]!;
    const r = rnd();
    if (r < 0.45) {
      const mode = rnd() < 0.5 ? 'persistent-sequential' : 'persistent';
      const path = await store.create(`${parent === '/' ? '' : parent}/n${i}-`, buf(`d${i}`), mode).catch(() => null);
      if (path) paths.push(path);
    } else if (r < 0.75 && parent !== '/') {
      await store.set(parent, buf(`s${i}`));
    } else if (r < 0.9 && parent !== '/') {
      await store.delete(parent).then(
        () => paths.splice(paths.indexOf(parent), 1),
        () => {},
      );
    } else {
      await store.create(`${parent === '/' ? '' : parent}/e${i}`, undefined, 'ephemeral').catch(() => {});
    }
    if (i === 200) await server.snapshot();
  }
  // What a restart must show: the tree as it is once this session's ephemerals are gone.
  await store.close();
  const viewer = await server.connect();
  const before = await dumpTree(viewer);
  await server.close();
  const files = readdirSync(dir);
  t.ok(
    files.some((f) => f.startsWith('snapshot-')),
    `a snapshot exists: ${files.join(' ')}`,
  );
  t.ok(files.filter((f) => f.startsWith('log-')).length <= 2, 'older logs are compacted away');

  const again = await open(t, dir);
  t.ok((again.server.recovery?.snapshotNodes ?? 0) > 1, 'recovery starts from the snapshot');
  t.same(await dumpTree(again.store), before);
});

t.test('a torn last log line is ignored, and cut so that later writes replay', async (t) => {
  const dir = t.testdir();
  const first = await open(t, dir);
  await first.store.create('/a', buf('1'));
  await first.store.create('/b', buf('2'));
  await first.server.close();
  const log = readdirSync(dir).find((f) => f.startsWith('log-'))!;
  // A crash in the middle of the write of `create /c`: half a line, no newline.
  appendFileSync(join(dir, log), '{"z":3,"t":1,"c":[["c","/c","Mw=');

  const second = await open(t, dir);
  t.ok((second.server.recovery?.tornBytes ?? 0) > 0, 'the torn tail was seen');
  t.same(await second.store.children('/'), ['a', 'b']);
  await second.store.create('/c', buf('3'));
  await second.server.close();
  t.match(readFileSync(join(dir, log), 'utf8'), /^(\{[^\n]*\}\n)+$/, 'the log holds whole lines only');

  const third = await open(t, dir);
  t.same(await third.store.children('/'), ['a', 'b', 'c']);
  t.equal(third.server.recovery?.tornBytes, 0);
});

t.test('a damaged line before the end of the log refuses to start, and releases the lock', async (t) => {
  const dir = t.testdir();
  const first = await open(t, dir);
  for (const name of ['/a', '/b', '/c']) await first.store.create(name);
  await first.server.close();
  const log = readdirSync(dir).find((f) => f.startsWith('log-'))!;
  const [, second, third] = readFileSync(join(dir, log), 'utf8').split('\n');
  // Two log files (as a crash between a snapshot's roll and its cleanup leaves them), the first damaged:
  // only the newest file may end torn.
  writeFileSync(join(dir, log), `not json\n${second}\n`);
  writeFileSync(join(dir, 'log-0000000000000003.jsonl'), `${third}\n`);
  t.throws(() => createEmbeddedServer({ dataDir: dir }), { code: 'DISTCI_COORDINATION_ERROR', message: /damaged/ });
  t.notOk(readdirSync(dir).includes('lock'), 'the failed start released the lock');
});

t.test('the data dir is locked: a second server is refused, a stale lock is taken over', async (t) => {
  const dir = t.testdir();
  const server = createEmbeddedServer({ dataDir: dir });
  t.throws(() => createEmbeddedServer({ dataDir: dir }), {
    code: 'DISTCI_BAD_OPTION',
    message: new RegExp(`in use by process ${process.pid}`),
    hint: /another --data-dir/,
  });
  await server.close();
  // A lock left by a process that is gone (SIGKILL): its PID is dead.
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: child.pid, host: (await import('node:os')).hostname() }));
  const taken = createEmbeddedServer({ dataDir: dir });
  t.equal(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid, process.pid, 'the lock is ours now');
  await taken.close();
  t.notOk(readdirSync(dir).includes('lock'), 'close releases the lock');
  // A lock whose content was never written (a crash between create and write).
  writeFileSync(join(dir, 'lock'), '');
  await createEmbeddedServer({ dataDir: dir }).close();
});

t.test('every op that resolved before a SIGKILL is there after a restart', async (t) => {
  const dir = t.testdir();
  const child = spawn(
    process.execPath,
    ['--import=tsx', '--conditions=distci-source', join(import.meta.dirname, 'fixtures/embedded-writer.ts'), dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const created: string[] = [];
  let lastSet: { version: number; data: string } | null = null;
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit');
  // Kill at an odd count, so the kill lands anywhere in the create → set → ephemeral cycle.
  for await (const line of lines) {
    const msg = JSON.parse(line) as { create?: string; set?: string; version?: number; data?: string };
    if (msg.create) created.push(msg.create);
    if (msg.set) lastSet = { version: msg.version!, data: msg.data! };
    if (created.length === 1237) {
      child.kill('SIGKILL');
      break;
    }
  }
  const [, signal] = await exited;
  t.equal(signal, 'SIGKILL');
  const { store } = await open(t, dir);
  const names = new Set(await store.children('/crash'));
  const missing = created.filter((p) => !names.has(p.slice('/crash/'.length)));
  t.same(missing, [], `all ${created.length} acknowledged creates survived`);
  const counter = await store.get('/crash/counter');
  t.ok(counter.stat.version >= lastSet!.version, `the counter is at version ≥ ${lastSet!.version}`);
  t.notOk(
    [...names].some((n) => n.startsWith('e-')),
    'no ephemeral survived',
  );
});

t.test('cversion and sequential names follow ZooKeeper: deletes count in cversion, not in the counter', async (t) => {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  await store.create('/p');
  const a = await store.create('/p/s-', undefined, 'persistent-sequential');
  t.equal(a, '/p/s-0000000000');
  await store.delete(a);
  t.equal((await store.exists('/p'))?.cversion, 2, 'a create and a delete');
  // Measured on ZooKeeper 3.8.0: the next name is 1 (creates so far), not 2 (cversion).
  t.equal(await store.create('/p/s-', undefined, 'persistent-sequential'), '/p/s-0000000001');
  t.equal(await store.create('/p/other'), '/p/other');
  t.equal(await store.create('/p/t-', undefined, 'persistent-sequential'), '/p/t-0000000003');
});

t.test('a watch event comes before the result of any later op of the same client', async (t) => {
  const server = createEmbeddedServer();
  t.teardown(() => server.close());
  const a = await server.connect();
  const b = await server.connect();
  await a.create('/x', buf('0'));
  const order: string[] = [];
  await a.get('/x', (e) => order.push(`a watch ${e.type}`));
  await b.get('/x', (e) => order.push(`b watch ${e.type}`));
  const write = b.set('/x', buf('1')).then(() => order.push('b set resolved'));
  t.same(order, [], 'no watcher runs inside the op');
  await write;
  await a.get('/x').then(() => order.push('a get resolved'));
  // As ZooKeeper 3.8 with node-zookeeper-client: the notification precedes the reply on the wire.
  t.same(order, ['a watch data-changed', 'b watch data-changed', 'b set resolved', 'a get resolved']);
});

t.test('session expiry: expired, session-lost, connecting, connected; ops of the old session fail', async (t) => {
  const server = createEmbeddedServer();
  t.teardown(() => server.close());
  const a = await server.connect({ chroot: '/exp' });
  const seen: Array<[SessionState, string | null]> = [];
  let fromExpired: Promise<unknown> | null = null;
  a.onState((state, id) => {
    seen.push([state, id]);
    if (state === 'expired') fromExpired = a.create('/from-listener').catch((e: { code: string }) => e.code);
  });
  const old = a.sessionId!;
  // A session-lost watcher re-reading: queued for the new session, as the ZooKeeper adapter does.
  let fromWatcher: Promise<string> | null = null;
  const lost = nextEvent();
  await a.exists('/later', (e) => {
    lost.watcher(e);
    fromWatcher = a.create('/mine', undefined, 'ephemeral');
  });
  const expiring = server.expireSession(old);
  // Called after the server ended the session, before the client heard: ZooKeeper answers SessionExpired.
  const late = a.create('/late', undefined, 'ephemeral');
  await t.rejects(late, { code: 'DISTCI_SESSION_EXPIRED', details: { sessionId: old } });
  await expiring;
  t.same(
    seen.map(([s]) => s),
    ['expired', 'connecting', 'connected'],
  );
  t.equal(seen[0]![1], old, 'expired names the old session');
  t.same(await lost.event, { type: 'session-lost', path: '/later' });
  t.equal(await fromExpired, 'DISTCI_SESSION_EXPIRED', 'an op from an `expired` listener is for the old session');
  t.equal(await fromWatcher, '/mine');
  t.equal((await a.get('/mine')).stat.ephemeralOwner, a.sessionId);
  t.equal(await a.exists('/late'), null);
  t.not(a.sessionId, old);
  await t.rejects(server.expireSession(old), { code: 'DISTCI_BAD_OPTION' });
});

t.test('a chroot is created when missing, and paths are relative to it', async (t) => {
  const server = createEmbeddedServer();
  t.teardown(() => server.close());
  const top = await server.connect();
  const inner = await server.connect({ chroot: '/distci/t1' });
  t.same(await top.children('/distci'), ['t1']);
  t.equal(await inner.create('/q-', undefined, 'persistent-sequential'), '/q-0000000000');
  t.same(await top.children('/distci/t1'), ['q-0000000000']);
  const w = nextEvent();
  await inner.children('/', w.watcher);
  await top.create('/distci/t1/from-top');
  t.same(await w.event, { type: 'children-changed', path: '/' });
  await t.rejects(inner.delete('/'), { code: 'DISTCI_BAD_PATH' });
  t.equal(await inner.create('/', undefined).catch((e: { code: string }) => e.code), 'DISTCI_NODE_EXISTS');
});

t.test('paths ZooKeeper refuses are refused with DISTCI_BAD_PATH', async (t) => {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  for (const path of ['', 'a', '/a/', '//a', '/a//b', '/a/./b', '/a/..', '/a\u0000b', '/a\u0007', '/😀']) {
    await t.rejects(store.create(path), { code: 'DISTCI_BAD_PATH' }, JSON.stringify(path));
  }
  await t.rejects(store.create('/', undefined, 'persistent-sequential'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(
    store.multi([
      { type: 'create', path: '/ok' },
      { type: 'check', path: 'bad', version: 0 },
    ]),
    {
      code: 'DISTCI_BAD_PATH',
      details: { opIndex: 1 },
    },
  );
  t.equal(await store.exists('/ok'), null);
  await store.ensurePath('/a.b/..c');
  t.equal(await store.create('/a.b/..c/-_~é'), '/a.b/..c/-_~é', 'dots inside a name are fine');
});

t.test('requests over ZooKeeper’s 1 MiB limit fail as a lost connection, and change nothing', async (t) => {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  await store.create('/big');
  await store.set('/big', Buffer.alloc(1_048_000));
  await t.rejects(store.set('/big', Buffer.alloc(1_048_576)), { code: 'DISTCI_CONNECTION_LOSS' });
  await t.rejects(
    store.multi([
      { type: 'create', path: '/big/a', data: Buffer.alloc(600_000) },
      { type: 'create', path: '/big/b', data: Buffer.alloc(600_000) },
    ]),
    { code: 'DISTCI_CONNECTION_LOSS' },
  );
  t.same(await store.children('/big'), []);
  t.equal((await store.exists('/big'))?.version, 1);
});

t.test('ensurePath stops at an ephemeral node; NoChildrenForEphemerals comes after NodeExists', async (t) => {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  await store.create('/e', undefined, 'ephemeral');
  await t.rejects(store.ensurePath('/e/x/y'), { code: 'DISTCI_NO_CHILDREN_FOR_EPHEMERALS' });
  await t.rejects(store.create('/e'), { code: 'DISTCI_NODE_EXISTS' });
  await t.rejects(store.create('/e/x', undefined, 'persistent-sequential'), {
    code: 'DISTCI_NO_CHILDREN_FOR_EPHEMERALS',
  });
});

t.test('createEmbeddedStore: closing the client closes its server and frees the data dir', async (t) => {
  const dir = t.testdir();
  const store = await createEmbeddedStore({ dataDir: dir, chroot: '/distci', sessionTimeoutMs: 1000 });
  t.equal(store.kind, 'embedded');
  t.equal(store.sessionTimeoutMs, 4000, 'granted as ZooKeeper with tickTime 2000 does');
  await store.create('/kept');
  await store.close();
  await t.rejects(store.ready(), { code: 'DISTCI_STORE_CLOSED' });
  const again = await createEmbeddedStore({ dataDir: dir, chroot: '/distci' });
  t.same(await again.children('/'), ['kept']);
  await again.close();
});

/** A small seeded PRNG, so a failing run can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
