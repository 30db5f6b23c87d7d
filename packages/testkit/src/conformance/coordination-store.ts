/**
 * The CoordinationStore conformance suite: one set of tests that every adapter (ZooKeeper, embedded)
 * must pass, proving the semantics written in `src/coordination-store.ts`.
 *
 * An adapter's test file calls `coordinationConformance(t, harness)` with:
 * - `open(namespace, options)`: a new client (its own session) whose root is `namespace` (a chroot
 *   unique to one test, made by `uniqueName`). Clients opened on the same namespace share one tree.
 * - `expireSession(store)`: makes the server expire `store`'s current session, as it does when a
 *   client goes silent past its session timeout (ZooKeeper: a frozen TCP proxy; embedded: the
 *   server's `expireSession`). Resolves once `store` has reported `expired`.
 *
 * Each test opens its own namespace and closes its clients in a teardown.
 */

import type { CoordinationStore, SessionState, WatchEvent, Watcher } from '@distci/common';
import type { Test } from 'tap';
import { uniqueName } from '../harness/services.js';

export interface CoordinationHarness {
  name: string;
  open(namespace: string, options?: { sessionTimeoutMs?: number }): Promise<CoordinationStore>;
  expireSession(store: CoordinationStore): Promise<void>;
}

/** A one-shot watcher and a promise of its event; `count()` tells how often it fired (must be ≤ 1). */
export function watch(): { watcher: Watcher; event: Promise<WatchEvent>; count: () => number } {
  let fired = 0;
  let resolve!: (e: WatchEvent) => void;
  const event = new Promise<WatchEvent>((r) => {
    resolve = r;
  });
  return {
    watcher: (e) => {
      fired++;
      resolve(e);
    },
    event,
    count: () => fired,
  };
}

/** Resolves with the first state in `wanted` that `store` reports from now on. */
function nextState(
  store: CoordinationStore,
  wanted: SessionState[],
): Promise<{ state: SessionState; sessionId: string | null }> {
  return new Promise((resolve) => {
    const off = store.onState((state, sessionId) => {
      if (wanted.includes(state)) {
        off();
        resolve({ state, sessionId });
      }
    });
  });
}

const buf = (s: string) => Buffer.from(s);

export function coordinationConformance(t: Test, harness: CoordinationHarness): void {
  /** Opens `n` clients on a fresh namespace, closed when the test ends. */
  async function clients(t: Test, n: number, options?: { sessionTimeoutMs?: number }): Promise<CoordinationStore[]> {
    const ns = `/${uniqueName('conf')}`;
    const stores: CoordinationStore[] = [];
    for (let i = 0; i < n; i++) stores.push(await harness.open(ns, options));
    t.teardown(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    return stores;
  }

  t.test(`${harness.name}: a session connects`, async (t) => {
    const [a] = await clients(t, 1);
    await a!.ready();
    t.equal(a!.state, 'connected');
    t.type(a!.sessionId, 'string');
    t.ok(a!.sessionTimeoutMs > 0, 'a session timeout is known');
    t.ok(a!.kind.length > 0);
  });

  t.test(`${harness.name}: create, get, exists and errors of missing and existing nodes`, async (t) => {
    const [a] = await clients(t, 1);
    const s = a!;
    t.equal(await s.create('/a', buf('hello')), '/a');
    const got = await s.get('/a');
    t.equal(got.data.toString(), 'hello');
    t.equal(got.stat.version, 0);
    t.equal(got.stat.ephemeralOwner, null);
    t.equal(got.stat.dataLength, 5);
    t.equal(got.stat.numChildren, 0);
    t.ok(got.stat.ctime > 0 && got.stat.mtime >= got.stat.ctime);
    await t.rejects(s.create('/a', buf('again')), { code: 'DISTCI_NODE_EXISTS' });
    t.equal((await s.get('/a')).data.toString(), 'hello', 'a refused create changes nothing');
    await t.rejects(s.create('/missing/child'), { code: 'DISTCI_NO_NODE' });
    await t.rejects(s.get('/nope'), { code: 'DISTCI_NO_NODE' });
    t.equal(await s.exists('/nope'), null);
    t.equal((await s.exists('/a'))?.version, 0);
    t.equal((await s.get('/a')).stat.numChildren, 0);
    await s.create('/a/b');
    t.equal((await s.exists('/a'))?.numChildren, 1);
    t.equal((await s.get('/a/b')).data.length, 0, 'no data means empty data');
  });

  t.test(`${harness.name}: binary data round-trips`, async (t) => {
    const [s] = await clients(t, 1);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await s!.create('/bin', bytes);
    t.same((await s!.get('/bin')).data, bytes);
  });

  t.test(`${harness.name}: ensurePath creates ancestors and keeps existing nodes`, async (t) => {
    const [s] = await clients(t, 1);
    await s!.create('/x', buf('keep'));
    await s!.ensurePath('/x/y/z');
    await s!.ensurePath('/x/y/z');
    t.equal((await s!.get('/x')).data.toString(), 'keep');
    t.same(await s!.children('/x/y'), ['z']);
  });

  t.test(`${harness.name}: set and delete are compare-and-set on the version`, async (t) => {
    const [s] = await clients(t, 1);
    await s!.create('/v', buf('0'));
    const stat1 = await s!.set('/v', buf('1'), 0);
    t.equal(stat1.version, 1);
    await t.rejects(s!.set('/v', buf('x'), 0), { code: 'DISTCI_BAD_VERSION' });
    t.equal((await s!.get('/v')).data.toString(), '1', 'a refused set changes nothing');
    t.equal((await s!.set('/v', buf('2'))).version, 2, 'no version = any version');
    await t.rejects(s!.set('/none', buf('x')), { code: 'DISTCI_NO_NODE' });
    await t.rejects(s!.delete('/v', 1), { code: 'DISTCI_BAD_VERSION' });
    t.not(await s!.exists('/v'), null, 'a refused delete changes nothing');
    await s!.delete('/v', 2);
    t.equal(await s!.exists('/v'), null);
    await t.rejects(s!.delete('/v'), { code: 'DISTCI_NO_NODE' });
    await s!.create('/p');
    await s!.create('/p/c');
    await t.rejects(s!.delete('/p'), { code: 'DISTCI_NOT_EMPTY' });
    await s!.delete('/p/c');
    await s!.delete('/p');
    t.equal(await s!.exists('/p'), null);
  });

  t.test(`${harness.name}: children are sorted names and cversion counts changes`, async (t) => {
    const [s] = await clients(t, 1);
    await s!.create('/kids');
    for (const name of ['b', 'c', 'a']) await s!.create(`/kids/${name}`);
    t.same(await s!.children('/kids'), ['a', 'b', 'c']);
    await s!.delete('/kids/b');
    t.same(await s!.children('/kids'), ['a', 'c']);
    const stat = await s!.exists('/kids');
    t.equal(stat?.cversion, 4, 'three creates and a delete');
    t.equal(stat?.version, 0, 'children do not change the data version');
    await t.rejects(s!.children('/none'), { code: 'DISTCI_NO_NODE' });
  });

  t.test(`${harness.name}: sequential nodes get unique increasing 10-digit suffixes`, async (t) => {
    const [a, b] = await clients(t, 2);
    await a!.create('/q');
    const first = await a!.create('/q/t-', buf('1'), 'persistent-sequential');
    t.match(first, /^\/q\/t-\d{10}$/);
    const second = await b!.create('/q/t-', buf('2'), 'persistent-sequential');
    t.ok(second > first, 'the counter increases');
    // 40 creates in flight from two sessions at once: every name distinct.
    const names = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a! : b!).create('/q/t-', undefined, 'persistent-sequential')),
    );
    t.equal(new Set([first, second, ...names]).size, 42);
    // The counter is the parent's, shared by every prefix, and never reused after a delete.
    await a!.delete(second);
    const other = await a!.create('/q/u-', undefined, 'persistent-sequential');
    t.ok(Number(other.slice(-10)) > Math.max(...names.map((n) => Number(n.slice(-10)))));
    const eph = await a!.create('/q/e-', undefined, 'ephemeral-sequential');
    t.match(eph, /^\/q\/e-\d{10}$/);
    t.equal((await b!.exists(eph))?.ephemeralOwner, a!.sessionId);
  });

  t.test(`${harness.name}: ephemeral nodes belong to their session and vanish when it closes`, async (t) => {
    const ns = `/${uniqueName('conf')}`;
    const a = await harness.open(ns);
    const b = await harness.open(ns);
    t.teardown(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    await a.create('/e', buf('lease'), 'ephemeral');
    t.equal((await b.get('/e')).stat.ephemeralOwner, a.sessionId);
    await t.rejects(a.create('/e/child'), { code: 'DISTCI_NO_CHILDREN_FOR_EPHEMERALS' });
    const w = watch();
    t.not(await b.exists('/e', w.watcher), null);
    await a.close();
    t.equal(a.state, 'closed');
    t.same(await w.event, { type: 'deleted', path: '/e' });
    t.equal(await b.exists('/e'), null);
    await t.rejects(a.get('/e'), { code: 'DISTCI_STORE_CLOSED' });
    await t.rejects(a.create('/z'), { code: 'DISTCI_STORE_CLOSED' });
  });

  t.test(`${harness.name}: data watches fire once, on change and on delete, for any client`, async (t) => {
    const [a, b] = await clients(t, 2);
    await a!.create('/w', buf('0'));
    const w1 = watch();
    await a!.get('/w', w1.watcher);
    await b!.set('/w', buf('1'));
    t.same(await w1.event, { type: 'data-changed', path: '/w' });
    await b!.set('/w', buf('2'));
    // A later watch fires after any (wrong) second firing of w1 would have: events arrive in order.
    const w2 = watch();
    t.not(await a!.exists('/w', w2.watcher), null);
    await b!.delete('/w');
    t.same(await w2.event, { type: 'deleted', path: '/w' });
    t.equal(w1.count(), 1, 'a watch is one-shot');
    // An exists-watch on a missing node waits for its creation; the creator's own change counts too.
    const w3 = watch();
    t.equal(await a!.exists('/w', w3.watcher), null);
    await a!.create('/w', buf('again'));
    t.same(await w3.event, { type: 'created', path: '/w' });
    const w4 = watch();
    await a!.get('/w', w4.watcher);
    await a!.delete('/w');
    t.same(await w4.event, { type: 'deleted', path: '/w' });
  });

  t.test(`${harness.name}: child watches fire on a child's create or delete, not on its data`, async (t) => {
    const [a, b] = await clients(t, 2);
    await a!.create('/c');
    await a!.create('/c/one');
    const w1 = watch();
    t.same(await a!.children('/c', w1.watcher), ['one']);
    await b!.set('/c/one', buf('data'));
    await b!.set('/c', buf('parent data'));
    await b!.create('/c/two');
    t.same(await w1.event, { type: 'children-changed', path: '/c' });
    const w2 = watch();
    await a!.children('/c', w2.watcher);
    await b!.delete('/c/one');
    t.same(await w2.event, { type: 'children-changed', path: '/c' });
    const w3 = watch();
    await a!.children('/c/two', w3.watcher);
    await b!.delete('/c/two');
    t.same(await w3.event, { type: 'deleted', path: '/c/two' });
    t.equal(w1.count() + w2.count() + w3.count(), 3);
  });

  t.test(`${harness.name}: one watcher set many times on a path fires once per event`, async (t) => {
    // ZooKeeper's rule ("a watch object is triggered once for a given notification"): a loop that
    // re-arms the same watcher on every pass over a quiet path must not pile up listeners.
    const [a, b] = await clients(t, 2);
    await a!.create('/d');
    let childFires = 0;
    let dataFires = 0;
    const onChild: Watcher = () => {
      childFires++;
    };
    const onData: Watcher = () => {
      dataFires++;
    };
    for (let i = 0; i < 5; i++) {
      await a!.children('/d', onChild);
      await a!.get('/d', onData);
      await a!.exists('/d', onData);
    }
    await b!.create('/d/x');
    await b!.set('/d', buf('changed'));
    const sentinel = watch();
    await a!.exists('/d/x', sentinel.watcher);
    await b!.delete('/d/x');
    await sentinel.event;
    t.equal(childFires, 1, 'the child watcher fired once');
    t.equal(dataFires, 1, 'the data watcher (set by get and exists) fired once');
  });

  t.test(`${harness.name}: multi applies every op or none`, async (t) => {
    const [a, b] = await clients(t, 2);
    await a!.create('/m');
    await a!.create('/m/ticket', buf('t'));
    await a!.create('/m/gone', buf('g'));
    const results = await a!.multi([
      { type: 'check', path: '/m/ticket', version: 0 },
      { type: 'create', path: '/m/seq-', data: buf('s'), mode: 'persistent-sequential' },
      { type: 'create', path: '/m/claim', data: buf('c'), mode: 'ephemeral' },
      { type: 'set', path: '/m/ticket', data: buf('t2'), version: 0 },
      { type: 'delete', path: '/m/gone', version: 0 },
    ]);
    t.equal(results.length, 5);
    t.same(results[0], { type: 'check' });
    t.equal(results[1]?.type, 'create');
    t.match((results[1] as { path: string }).path, /^\/m\/seq-\d{10}$/);
    t.same(results[2], { type: 'create', path: '/m/claim' });
    t.equal(results[3]?.type, 'set');
    t.equal((results[3] as { stat: { version: number } }).stat.version, 1);
    t.same(results[4], { type: 'delete' });
    t.equal((await b!.get('/m/claim')).stat.ephemeralOwner, a!.sessionId);
    t.equal(await b!.exists('/m/gone'), null);

    // A failing op in the middle: nothing before or after it is applied.
    const before = await b!.children('/m');
    const err = await a!
      .multi([
        { type: 'create', path: '/m/new', data: buf('n') },
        { type: 'set', path: '/m/ticket', data: buf('t3') },
        { type: 'check', path: '/m/ticket', version: 0 },
        { type: 'delete', path: '/m/claim' },
      ])
      .then(
        () => null,
        (e: unknown) => e,
      );
    t.match(err, { code: 'DISTCI_BAD_VERSION', details: { opIndex: 2 } });
    t.same(await b!.children('/m'), before, 'no node created or deleted');
    t.equal((await b!.get('/m/ticket')).data.toString(), 't2', 'no data set');
    t.equal((await b!.get('/m/ticket')).stat.version, 1);

    await t.rejects(a!.multi([{ type: 'create', path: '/m/ticket' }]), {
      code: 'DISTCI_NODE_EXISTS',
      details: { opIndex: 0 },
    });
    await t.rejects(
      a!.multi([
        { type: 'create', path: '/m/x' },
        { type: 'delete', path: '/m/absent' },
      ]),
      { code: 'DISTCI_NO_NODE', details: { opIndex: 1 } },
    );
    t.equal(await b!.exists('/m/x'), null);
    // Ops in one multi see the effects of the ops before them.
    await a!.multi([
      { type: 'create', path: '/m/dir' },
      { type: 'create', path: '/m/dir/leaf', data: buf('l') },
      { type: 'check', path: '/m/dir/leaf', version: 0 },
    ]);
    t.same(await b!.children('/m/dir'), ['leaf']);
  });

  t.test(`${harness.name}: a multi fires the watches of every op it applied`, async (t) => {
    const [a, b] = await clients(t, 2);
    await a!.create('/mw');
    await a!.create('/mw/t', buf('x'));
    const data = watch();
    const kids = watch();
    await b!.get('/mw/t', data.watcher);
    await b!.children('/mw', kids.watcher);
    await a!.multi([
      { type: 'delete', path: '/mw/t', version: 0 },
      { type: 'create', path: '/mw/next' },
    ]);
    t.same(await data.event, { type: 'deleted', path: '/mw/t' });
    t.same(await kids.event, { type: 'children-changed', path: '/mw' });
  });

  t.test(`${harness.name}: namespaces are isolated`, async (t) => {
    const [a] = await clients(t, 1);
    const [b] = await clients(t, 1);
    await a!.create('/only-in-a');
    t.equal(await b!.exists('/only-in-a'), null);
    t.same(await b!.children('/'), [], 'a fresh namespace is empty');
  });

  t.test(
    `${harness.name}: an expired session loses its ephemerals and watches, and a new session starts`,
    async (t) => {
      const ns = `/${uniqueName('conf')}`;
      const a = await harness.open(ns, { sessionTimeoutMs: 2000 });
      const b = await harness.open(ns);
      t.teardown(async () => {
        await Promise.all([a.close(), b.close()]);
      });
      const oldSession = a.sessionId;
      await a.create('/lease', buf('a'), 'ephemeral');
      await a.create('/kept', buf('p'));
      const seenByB = watch();
      t.not(await b.exists('/lease', seenByB.watcher), null);
      const pending = watch();
      await a.get('/kept', pending.watcher);
      const states: SessionState[] = [];
      a.onState((s) => states.push(s));
      const reconnected = nextState(a, ['connected']);

      await harness.expireSession(a);
      t.same(await seenByB.event, { type: 'deleted', path: '/lease' }, 'another client sees the claim vanish');
      t.same(await pending.event, { type: 'session-lost', path: '/kept' }, 'pending watches are told');
      const { sessionId } = await reconnected;
      t.ok(states.includes('expired'), `states seen: ${states.join(' → ')}`);
      t.not(sessionId, oldSession, 'a new session');
      t.equal(a.sessionId, sessionId);
      t.equal(a.state, 'connected');
      // The new session works, and owns what it creates.
      t.equal(await a.exists('/lease'), null);
      t.equal((await a.get('/kept')).data.toString(), 'p', 'persistent nodes stay');
      await a.create('/lease', buf('a2'), 'ephemeral');
      t.equal((await b.get('/lease')).stat.ephemeralOwner, sessionId);
    },
  );
}
