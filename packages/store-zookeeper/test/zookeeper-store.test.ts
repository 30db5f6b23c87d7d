/**
 * The ZooKeeper adapter against the test run's real ZooKeeper: the shared conformance suite, then what
 * only ZooKeeper has — a chroot, a negotiated session timeout, the silence watchdog (a frozen TCP proxy is
 * a silent partition), and the difference between losing a connection and losing the session.
 */
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoordinationStore, SessionState } from '@distci/common';
import {
  coordinationConformance,
  loadServices,
  startTcpProxy,
  type TcpProxy,
  uniqueName,
  watch,
  zookeeperHarness,
} from '@distci/testkit';
import t, { type Test } from 'tap';
import { createZooKeeperStore, type ZooKeeperStoreOptions } from '../src/zookeeper-store.js';

const { zk } = loadServices();
const zkPort = Number(zk.connect.split(':').pop());
/** 5 s: short enough for tests that wait on a close, long enough not to expire on a busy machine. */
const DEFAULT_TEST_SESSION_MS = 5000;

/** Every store of this file goes through its own proxy, so one can be cut off alone. */
const proxies = new Map<CoordinationStore, TcpProxy>();
t.teardown(async () => {
  await Promise.all([...proxies.values()].map((p) => p.close()));
});

async function openViaProxy(
  chroot: string,
  options: Partial<ZooKeeperStoreOptions> = {},
): Promise<{ store: CoordinationStore; proxy: TcpProxy }> {
  const proxy = await startTcpProxy(zkPort);
  const store = createZooKeeperStore({
    connect: `127.0.0.1:${proxy.port}`,
    chroot,
    sessionTimeoutMs: DEFAULT_TEST_SESSION_MS,
    ...options,
  });
  proxies.set(store, proxy);
  await store.ready();
  return { store, proxy };
}

/** A direct client (no proxy), closed when `t` ends. */
async function openDirect(t: Test, chroot: string, sessionTimeoutMs = DEFAULT_TEST_SESSION_MS) {
  const store = createZooKeeperStore({ connect: zk.connect, chroot, sessionTimeoutMs });
  t.teardown(() => store.close());
  await store.ready();
  return store;
}

/** Resolves with the first of `wanted` states `store` reports from now on, and when (Date.now()). */
function nextState(store: CoordinationStore, wanted: SessionState[]) {
  return new Promise<{ state: SessionState; sessionId: string | null; at: number }>((resolve) => {
    const off = store.onState((state, sessionId) => {
      if (!wanted.includes(state)) return;
      off();
      resolve({ state, sessionId, at: Date.now() });
    });
  });
}

function recordStates(store: CoordinationStore): Array<{ state: SessionState; at: number }> {
  const log: Array<{ state: SessionState; at: number }> = [];
  store.onState((state) => log.push({ state, at: Date.now() }));
  return log;
}

// First, while nothing else runs: it counts the process's active handles.
t.test('close releases every timer and socket', async (t) => {
  const count = () =>
    process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'Immediate')
      .length;
  const before = count();
  const store = createZooKeeperStore({ connect: zk.connect, chroot: `/${uniqueName()}`, sessionTimeoutMs: 2000 });
  await store.ready();
  await store.get('/', () => {});
  await store.close();
  // Socket handles go away on the next turn of the event loop.
  await new Promise((r) => setImmediate(r));
  t.equal(count(), before, `resources before: ${before}, after: ${count()}`);
});

t.test('conformance', async (t) => {
  coordinationConformance(t, zookeeperHarness(t));
});

t.test('the chroot is created with its ancestors, and paths and events are relative to it', async (t) => {
  const top = `/${uniqueName()}`;
  const chroot = `${top}/deep/root`;
  const store = await openDirect(t, chroot);
  const outside = await openDirect(t, '');
  t.not(await outside.exists(chroot), null, 'the chroot was created');
  t.equal(await store.create('/n', Buffer.from('x')), '/n');
  t.equal((await outside.get(`${chroot}/n`)).data.toString(), 'x', 'the node lives under the chroot');
  t.same(await store.children('/'), ['n']);
  const w = watch();
  await store.children('/', w.watcher);
  await outside.create(`${chroot}/m`);
  t.same(await w.event, { type: 'children-changed', path: '/' }, 'the chroot itself is /');
  const seq = await store.multi([{ type: 'create', path: '/s-', mode: 'persistent-sequential' }]);
  t.match(seq[0], { type: 'create', path: /^\/s-\d{10}$/ }, 'multi results are relative too');
  await t.rejects(store.delete('/'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.get('relative'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.get('/a/../b'), { code: 'DISTCI_BAD_PATH' });
  await t.rejects(store.get('/trailing/'), { code: 'DISTCI_BAD_PATH' });
  t.throws(() => createZooKeeperStore({ connect: `${zk.connect}/x`, chroot: '/x', sessionTimeoutMs: 2000 }), {
    code: 'DISTCI_BAD_OPTION',
  });
});

t.test('the session timeout is the negotiated one; the session id matches ephemeral owners', async (t) => {
  // The test server's minSessionTimeout is 1000 ms: a 500 ms request is raised to it.
  const store = await openDirect(t, `/${uniqueName()}`, 500);
  t.equal(store.sessionTimeoutMs, 1000);
  t.match(store.sessionId, /^[0-9a-f]{16}$/);
  await store.create('/e', undefined, 'ephemeral');
  t.equal((await store.exists('/e'))?.ephemeralOwner, store.sessionId);
});

t.test('a version-0 check in a multi is enforced (node-zookeeper-client turns 0 into "any")', async (t) => {
  const store = await openDirect(t, `/${uniqueName()}`);
  await store.create('/v');
  await store.set('/v', Buffer.from('1'));
  await t.rejects(store.multi([{ type: 'check', path: '/v', version: 0 }]), {
    code: 'DISTCI_BAD_VERSION',
    details: { opIndex: 0 },
  });
  await t.rejects(store.multi([{ type: 'delete', path: '/v', version: 0 }]), { code: 'DISTCI_BAD_VERSION' });
  await t.rejects(store.multi([{ type: 'set', path: '/v', data: Buffer.from('x'), version: 0 }]), {
    code: 'DISTCI_BAD_VERSION',
  });
  t.equal((await store.get('/v')).data.toString(), '1');
});

t.test('an idle session stays connected: the client pings every third of the timeout', async (t) => {
  const store = await openDirect(t, `/${uniqueName()}`, 1000);
  const states = recordStates(store);
  // Waiting for nothing to happen has no event: 3 watchdog periods (2/3 s each) of silence from the caller.
  await sleep(2000);
  t.same(states, [], 'no suspension: the server answered every ping');
  t.equal(store.state, 'connected');
});

t.test('a brief silent partition is a connection loss, not a session loss', async (t) => {
  const chroot = `/${uniqueName()}`;
  const timeoutMs = 4000;
  const { store, proxy } = await openViaProxy(chroot, { sessionTimeoutMs: timeoutMs });
  t.teardown(() => store.close());
  const observer = await openDirect(t, chroot);
  const sessionId = store.sessionId;
  await store.create('/claim', Buffer.from('c'), 'ephemeral');
  await store.create('/data', Buffer.from('0'));
  const dataWatch = watch();
  await store.get('/data', dataWatch.watcher);
  const states = recordStates(store);

  await store.exists('/'); // a fresh answer: the silence starts now
  const frozenAt = Date.now();
  const suspended = nextState(store, ['suspended']);
  proxy.freeze();
  const inFlightFails = t.rejects(
    store.get('/data'),
    { code: 'DISTCI_CONNECTION_LOSS' },
    'an op in flight fails: its outcome is unknown',
  );
  const { at: suspendedAt } = await suspended;
  const detectMs = suspendedAt - frozenAt;
  t.comment(
    `watchdog: suspended ${detectMs} ms after the freeze (session ${timeoutMs} ms, 2/3 = ${(timeoutMs * 2) / 3})`,
  );
  t.ok(detectMs >= (timeoutMs * 2) / 3 - 50 && detectMs < (timeoutMs * 2) / 3 + 500, 'detected at ~2/3 of the timeout');
  await inFlightFails;

  // While cut off, the world moves on: the watch must still learn about it after the heal.
  await observer.set('/data', Buffer.from('1'));
  const waiting = store.get('/data'); // issued while suspended: waits for the connection
  const reconnected = nextState(store, ['connected', 'expired']);
  const healedAt = Date.now();
  proxy.unfreeze();
  const back = await reconnected;
  t.comment(`reconnected ${back.at - healedAt} ms after the heal`);
  t.equal(back.state, 'connected');
  t.equal(back.sessionId, sessionId, 'the same session');
  t.equal(store.sessionId, sessionId);
  t.same(
    states.map((s) => s.state),
    ['suspended', 'connected'],
  );
  t.equal((await waiting).data.toString(), '1', 'the op issued while suspended ran after the reconnect');
  t.same(await dataWatch.event, { type: 'data-changed', path: '/data' }, 'the watch survived and caught up');
  t.equal((await observer.get('/claim')).stat.ephemeralOwner, sessionId, 'the ephemeral node is still there');
});

t.test('a long silent partition: suspended, the server expires the session, a new one after the heal', async (t) => {
  const chroot = `/${uniqueName()}`;
  const timeoutMs = 2000;
  const { store, proxy } = await openViaProxy(chroot, { sessionTimeoutMs: timeoutMs });
  t.teardown(() => store.close());
  const observer = await openDirect(t, chroot);
  const oldSession = store.sessionId;
  await store.create('/claim', Buffer.from('c'), 'ephemeral');
  const claimGone = watch();
  t.not(await observer.exists('/claim', claimGone.watcher), null);
  const pending = watch();
  await store.children('/', pending.watcher);
  const states = recordStates(store);

  await store.exists('/');
  const frozenAt = Date.now();
  const suspended = nextState(store, ['suspended']);
  proxy.freeze();
  const { at: suspendedAt } = await suspended;
  t.comment(`watchdog: suspended ${suspendedAt - frozenAt} ms after the freeze (session ${timeoutMs} ms)`);
  t.ok(suspendedAt - frozenAt < (timeoutMs * 2) / 3 + 500);

  // The server expires the session on its own clock; the observer sees the claim vanish.
  t.same(await claimGone.event, { type: 'deleted', path: '/claim' });
  const goneAt = Date.now();
  t.comment(`the server expired the session ${goneAt - frozenAt} ms after the freeze`);
  t.ok(goneAt - frozenAt >= timeoutMs - 100, 'not before the session timeout');
  t.equal(store.state, 'suspended', 'the cut-off store cannot know yet: it stays suspended');
  t.equal(pending.count(), 0);

  const expired = nextState(store, ['expired']);
  const connected = nextState(store, ['connected']);
  const healedAt = Date.now();
  proxy.unfreeze();
  const exp = await expired;
  t.comment(`expired reported ${exp.at - healedAt} ms after the heal (the server's answer to the reconnect)`);
  t.equal(exp.sessionId, oldSession, 'expired names the old session');
  t.same(await pending.event, { type: 'session-lost', path: '/' }, 'pending watches fire once with session-lost');
  const con = await connected;
  t.comment(`new session connected ${con.at - healedAt} ms after the heal`);
  t.not(con.sessionId, oldSession, 'a new session id');
  t.same(
    states.map((s) => s.state),
    ['suspended', 'expired', 'connecting', 'connected'],
  );
  t.equal(await observer.exists('/claim'), null, "the old session's ephemeral is gone");
  await store.create('/claim', Buffer.from('again'), 'ephemeral');
  t.equal((await observer.get('/claim')).stat.ephemeralOwner, store.sessionId);
  t.equal(pending.count(), 1);
});

t.test('cut off for good: the store declares the session expired itself and keeps trying', async (t) => {
  const chroot = `/${uniqueName()}`;
  const timeoutMs = 1000;
  const { store, proxy } = await openViaProxy(chroot, { sessionTimeoutMs: timeoutMs });
  t.teardown(() => store.close());
  const states = recordStates(store);
  const pending = watch();
  await store.exists('/x', pending.watcher);
  const frozenAt = Date.now();
  const expired = nextState(store, ['expired']);
  proxy.freeze();
  const inFlight = store.create('/never');
  const inFlightFails = t.rejects(inFlight, { code: 'DISTCI_CONNECTION_LOSS' }, 'the op in flight fails');
  const exp = await expired;
  t.comment(`expired declared locally ${exp.at - frozenAt} ms after the freeze (session ${timeoutMs} ms)`);
  t.ok(exp.at - frozenAt >= timeoutMs * 1.5, 'not before 1.5 timeouts of suspension');
  await inFlightFails;
  t.same(await pending.event, { type: 'session-lost', path: '/x' });
  const waiting = store.exists('/'); // waits for the new session
  const connected = nextState(store, ['connected']);
  proxy.unfreeze();
  await connected;
  t.not(await waiting, null);
  t.same(
    states.map((s) => s.state),
    ['suspended', 'expired', 'connecting', 'connected'],
  );
});

t.test('ops wait a bounded time for a connection; close() releases waiting ops at once', async (t) => {
  const chroot = `/${uniqueName()}`;
  const { store, proxy } = await openViaProxy(chroot, { sessionTimeoutMs: 1000, connectTimeoutMs: 300 });
  const suspended = nextState(store, ['suspended']);
  proxy.freeze();
  await suspended;
  const t0 = Date.now();
  await t.rejects(store.get('/'), { code: 'DISTCI_CONNECTION_LOSS' });
  t.ok(Date.now() - t0 >= 290, 'waited connectTimeoutMs');
  const waiting = store.get('/');
  const closedAt = Date.now();
  await store.close();
  t.ok(Date.now() - closedAt < 500, 'close does not wait for an unreachable server');
  await t.rejects(waiting, { code: 'DISTCI_STORE_CLOSED' });
  t.equal(store.state, 'closed');
  await t.rejects(store.ready(), { code: 'DISTCI_STORE_CLOSED' });
  proxy.unfreeze();
});

/** A TCP server that refuses (accepts and hangs up) or mutes (accepts and never answers) every connection. */
async function fakeServer(t: Test, behaviour: 'refuse' | 'mute') {
  const arrivals: number[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    arrivals.push(Date.now());
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (behaviour === 'refuse') socket.destroy();
    for (const w of waiters.filter((w) => arrivals.length >= w.n)) w.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as { port: number }).port;
  /** Resolves once `n` connections arrived. */
  const connections = (n: number) =>
    arrivals.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }));
  return { connect: `127.0.0.1:${port}`, arrivals, connections };
}

t.test('a server that refuses connections is retried with a growing, jittered backoff', async (t) => {
  const fake = await fakeServer(t, 'refuse');
  const store = createZooKeeperStore({ connect: fake.connect, chroot: '/x', sessionTimeoutMs: 10_000 });
  const states = recordStates(store);
  const ready = store.ready();
  await fake.connections(7);
  const gaps = fake.arrivals.slice(1, 7).map((at, i) => at - fake.arrivals[i]!);
  t.comment(`reconnect gaps (ms): ${gaps.join(', ')}`);
  // Ceilings 50, 100, 200, 400, 800, 1000 ms, each jittered to half..full.
  const total = fake.arrivals[6]! - fake.arrivals[0]!;
  t.ok(total >= 1250 && total <= 4000, `7 attempts took ${total} ms: neither a busy loop nor a crawl`);
  t.ok(gaps[5]! >= 450, 'the later gaps are long');
  t.same(states, [], 'still connecting: no session, so nothing to suspend or expire');
  await store.close();
  await t.rejects(ready, { code: 'DISTCI_STORE_CLOSED' }, 'ready() fails when the store closes first');
});

t.test('a server that accepts but never answers is dropped after 2/3 of the session timeout', async (t) => {
  const fake = await fakeServer(t, 'mute');
  const timeoutMs = 1500;
  const store = createZooKeeperStore({ connect: fake.connect, chroot: '/x', sessionTimeoutMs: timeoutMs });
  t.teardown(() => store.close());
  const states = recordStates(store);
  await fake.connections(3);
  const gaps = fake.arrivals.slice(1, 3).map((at, i) => at - fake.arrivals[i]!);
  t.comment(`a mute server's connections were dropped and retried after ${gaps.join(', ')} ms`);
  for (const gap of gaps) t.ok(gap >= (timeoutMs * 2) / 3 && gap < (timeoutMs * 2) / 3 + 1000);
  t.same(states, [], 'still connecting');
  await t.rejects(store.get('/'), { code: 'DISTCI_CONNECTION_LOSS' }, 'ops give up after connectTimeoutMs');
});

/**
 * A fake ZooKeeper that accepts every session and answers every request but pings with `err`: enough to
 * show what the store does with an error code node-zookeeper-client 1.1.3 does not know.
 */
async function fakeZooKeeper(t: Test, err: number) {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let handshaken = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        let body: Buffer;
        if (!handshaken) {
          handshaken = true;
          // ConnectResponse: protocolVersion, timeOut (as requested), sessionId, passwd (16 bytes).
          body = Buffer.alloc(4 + 4 + 8 + 4 + 16);
          body.writeInt32BE(frame.readInt32BE(12), 4);
          body.writeBigInt64BE(0x1234n, 8);
          body.writeInt32BE(16, 16);
        } else {
          // ReplyHeader: xid, zxid, err (pings, type 11, get err 0).
          body = Buffer.alloc(16);
          body.writeInt32BE(frame.readInt32BE(0), 0);
          body.writeInt32BE(frame.readInt32BE(4) === 11 ? 0 : err, 12);
        }
        const length = Buffer.alloc(4);
        length.writeInt32BE(body.length);
        socket.write(Buffer.concat([length, body]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

t.test('an error code the client does not know fails the op as a connection loss, not the process', async (t) => {
  // -127 is ZooKeeper 3.6's THROTTLEDOP; node-zookeeper-client 1.1.3 throws "Unknown code" on it.
  const connect = await fakeZooKeeper(t, -127);
  const store = createZooKeeperStore({ connect, chroot: '', sessionTimeoutMs: 3000 });
  t.teardown(() => store.close());
  await store.ready();
  t.equal(store.sessionId, '0000000000001234');
  const states = recordStates(store);
  const back = nextState(store, ['connected']);
  await t.rejects(store.get('/a'), { code: 'DISTCI_CONNECTION_LOSS' });
  await back;
  t.same(
    states.map((s) => s.state),
    ['suspended', 'connected'],
    'the connection is dropped and the same session resumes',
  );
  t.equal(store.sessionId, '0000000000001234');
});
