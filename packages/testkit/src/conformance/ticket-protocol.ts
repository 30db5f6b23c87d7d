/**
 * The ticket protocol suite: post / claim / complete / fail / release, fencing, staleness, labels,
 * ordering and the queue view, proven on every CoordinationStore adapter (same harness as the
 * coordination conformance suite). Each client plays one worker.
 */

import type { CoordinationStore, Op, TicketRef } from '@distci/common';
import {
  type Claim,
  claimTicket,
  failExhaustedTicket,
  finishTicket,
  listClaimableTickets,
  postTickets,
  prepareTicketOps,
  queueView,
  releaseTicket,
  writePresence,
  zpaths,
} from '@distci/common';
import type { Test } from 'tap';
import { uniqueName } from '../harness/services.js';
import type { CoordinationHarness } from './coordination-store.js';

const worker = (id: string) => ({ id, host: 'test-host' });
const resultOp = (name: string, data: string): Op => ({
  type: 'create',
  path: `/results/${name}`,
  data: Buffer.from(data),
});

async function claimed(store: CoordinationStore, ref: TicketRef, id: string): Promise<Claim> {
  const r = await claimTicket(store, ref, worker(id));
  if (r.outcome !== 'claimed') throw new Error(`expected to claim ${ref.id}, got ${r.outcome}`);
  return r.claim;
}

/** Counts write calls (create / set / delete / multi) made through a store. */
export function countingStore(store: CoordinationStore): { store: CoordinationStore; writes: () => number } {
  let writes = 0;
  const counted = new Set(['create', 'set', 'delete', 'multi']);
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (counted.has(String(prop))) writes++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, writes: () => writes };
}

export function ticketProtocolSuite(t: Test, harness: CoordinationHarness): void {
  async function workers(t: Test, n: number, options?: { sessionTimeoutMs?: number }): Promise<CoordinationStore[]> {
    const ns = `/${uniqueName('proto')}`;
    const stores: CoordinationStore[] = [];
    for (let i = 0; i < n; i++) stores.push(await harness.open(ns, options));
    await stores[0]!.ensurePath('/results');
    t.teardown(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });
    return stores;
  }

  t.test(`${harness.name}: post → claim → complete records the result and posts successors in one step`, async (t) => {
    const [a, b] = await workers(t, 2);
    const [ref] = await postTickets(a!, [{ kind: 'control', payload: { build: 1 } }]);
    t.same(await listClaimableTickets(b!, 'control', []), [ref], 'the posted ticket is claimable');
    const claim = await claimed(b!, ref!, 'w1');
    t.equal(claim.attempt, 1);
    t.equal(claim.ticket.data.state, 'claimed');
    t.same(claim.ticket.data.payload, { build: 1 });
    t.same(await listClaimableTickets(a!, 'control', []), [], 'a claimed ticket is not claimable');
    t.not(await a!.exists(claim.claimPath), null, 'the claim is a node');
    t.equal((await a!.exists(claim.claimPath))?.ephemeralOwner, b!.sessionId, 'owned by the claimer session');

    const successors = await prepareTicketOps(b!, [
      { kind: 'exec-shell', labels: ['linux'], payload: { step: 'test' } },
      { kind: 'publish-artifacts', payload: { step: 'publish' } },
    ]);
    await finishTicket(b!, claim, [resultOp('r1', 'ok'), ...successors]);
    t.equal(await a!.exists(ref!.path), null, 'the ticket is gone');
    t.equal(await a!.exists(claim.claimPath), null, 'the claim is gone');
    t.equal((await a!.get('/results/r1')).data.toString(), 'ok');
    t.equal((await listClaimableTickets(a!, 'exec-shell', ['linux'])).length, 1, 'successor posted');
    t.equal((await listClaimableTickets(a!, 'publish-artifacts', [])).length, 1, 'successor posted');
  });

  t.test(`${harness.name}: racing claimers: exactly one wins`, async (t) => {
    const stores = await workers(t, 4);
    const [ref] = await postTickets(stores[0]!, [{ kind: 'control', payload: {} }]);
    const results = await Promise.all(stores.map((s, i) => claimTicket(s, ref!, worker(`w${i}`))));
    t.equal(results.filter((r) => r.outcome === 'claimed').length, 1, 'one claim');
    t.equal(results.filter((r) => r.outcome === 'taken').length, 3, 'the others are told it is taken');
    t.same(await stores[0]!.children(zpaths.claimKind('control')), [`${ref!.id}-1`]);
  });

  t.test(`${harness.name}: a stale ticket is resumed as the next attempt; the old claimer is fenced`, async (t) => {
    const [a, b, c] = await workers(t, 3, { sessionTimeoutMs: 2000 });
    const [ref] = await postTickets(a!, [{ kind: 'exec-shell', payload: {} }]);
    const first = await claimed(b!, ref!, 'w-b');
    await harness.expireSession(b!);
    t.same(await listClaimableTickets(a!, 'exec-shell', []), [ref], 'stale: claimable again');
    const second = await claimed(c!, ref!, 'w-c');
    t.equal(second.attempt, 2, 'the next attempt number');
    t.equal(second.ticket.data.lost, 1, 'the vanished claim counts as lost');
    await t.rejects(finishTicket(b!, first, [resultOp('fenced', 'zombie')]), { code: 'DISTCI_CLAIM_LOST' });
    t.equal(await a!.exists('/results/fenced'), null, 'the zombie recorded nothing');
    await finishTicket(c!, second, [resultOp('winner', 'attempt 2')]);
    t.equal((await a!.get('/results/winner')).data.toString(), 'attempt 2');
    t.equal(await a!.exists(ref!.path), null);
  });

  t.test(`${harness.name}: a zombie cannot finish even after its store reconnects`, async (t) => {
    const [a, b] = await workers(t, 2, { sessionTimeoutMs: 2000 });
    const [ref] = await postTickets(a!, [{ kind: 'exec-shell', payload: {} }]);
    const first = await claimed(b!, ref!, 'w-b');
    await harness.expireSession(b!);
    await b!.ready();
    // Nobody resumed it yet: the zombie's new session still may not record the old attempt.
    await t.rejects(finishTicket(b!, first, [resultOp('z', 'zombie')]), { code: 'DISTCI_CLAIM_LOST' });
    await t.rejects(releaseTicket(b!, first), { code: 'DISTCI_CLAIM_LOST' });
    t.equal(await a!.exists('/results/z'), null);
    const again = await claimed(b!, ref!, 'w-b');
    t.equal(again.attempt, 2, 'it may claim it again, as a new attempt');
  });

  t.test(`${harness.name}: release gives a ticket back at once without counting a loss`, async (t) => {
    const [a, b] = await workers(t, 2);
    const [ref] = await postTickets(a!, [{ kind: 'git-checkout', payload: {} }]);
    const first = await claimed(a!, ref!, 'w-a');
    await releaseTicket(a!, first);
    t.equal(await a!.exists(first.claimPath), null);
    const second = await claimed(b!, ref!, 'w-b');
    t.equal(second.attempt, 2, 'attempt numbers are never reused');
    t.equal(second.ticket.data.lost, 0);
    await releaseTicket(b!, second, { lost: true });
    const third = await claimed(a!, ref!, 'w-a');
    t.equal(third.attempt, 3);
    t.equal(third.ticket.data.lost, 1, 'a release after a handler crash counts as lost');
  });

  t.test(`${harness.name}: after maxAttempts lost claims the ticket is exhausted and fails`, async (t) => {
    const [a, b, c] = await workers(t, 3, { sessionTimeoutMs: 2000 });
    const [ref] = await postTickets(a!, [{ kind: 'exec-shell', payload: {}, maxAttempts: 2 }]);
    await claimed(b!, ref!, 'w-b');
    await harness.expireSession(b!);
    const second = await claimed(c!, ref!, 'w-c');
    t.equal(second.attempt, 2);
    await harness.expireSession(c!);
    const r = await claimTicket(a!, ref!, worker('w-a'));
    t.equal(r.outcome, 'exhausted');
    if (r.outcome !== 'exhausted') return;
    t.equal(r.ticket.data.lost, 2);
    t.ok(await failExhaustedTicket(a!, r.ticket, [resultOp('infra', 'infrastructure')]));
    t.equal((await a!.get('/results/infra')).data.toString(), 'infrastructure');
    t.equal(await a!.exists(ref!.path), null);
    t.notOk(await failExhaustedTicket(b!, r.ticket, []), 'a second failer is told someone else did it');
  });

  t.test(`${harness.name}: labels: a worker serves every queue whose labels it has`, async (t) => {
    const [a] = await workers(t, 1);
    await postTickets(a!, [
      { kind: 'exec-shell', payload: 'any' },
      { kind: 'exec-shell', labels: ['linux'], payload: 'linux' },
      { kind: 'exec-shell', labels: ['gpu', 'linux'], payload: 'gpu' },
    ]);
    const queuesOf = async (labels: string[]) =>
      (await listClaimableTickets(a!, 'exec-shell', labels)).map((r) => r.queue).sort();
    t.same(await queuesOf([]), ['_']);
    t.same(await queuesOf(['linux']), ['_', 'linux']);
    t.same(await queuesOf(['arm64', 'gpu', 'linux']), ['_', 'gpu,linux', 'linux']);
    t.same(await queuesOf(['gpu']), ['_']);
  });

  t.test(`${harness.name}: claim order is priority, then posting order`, async (t) => {
    const [a] = await workers(t, 1);
    await postTickets(a!, [{ kind: 'control', payload: 'low-1', priority: 1 }]);
    await postTickets(a!, [{ kind: 'control', payload: 'mid-1' }]);
    await postTickets(a!, [{ kind: 'control', payload: 'high', priority: 9 }]);
    await postTickets(a!, [{ kind: 'control', payload: 'mid-2' }]);
    const order: unknown[] = [];
    for (const ref of await listClaimableTickets(a!, 'control', [])) {
      order.push((await claimed(a!, ref, 'w')).ticket.data.payload);
    }
    t.same(order, ['high', 'mid-1', 'mid-2', 'low-1']);
  });

  t.test(`${harness.name}: the queue view explains why tickets wait`, async (t) => {
    const [a] = await workers(t, 1);
    const before = Date.now();
    await postTickets(a!, [
      { kind: 'exec-shell', labels: ['gpu', 'arm64'], payload: 1 },
      { kind: 'exec-shell', labels: ['linux'], payload: 2 },
      { kind: 'control', payload: 3 },
    ]);
    await writePresence(a!, {
      id: 'w-linux',
      kind: 'exec-shell',
      labels: ['linux', 'x64'],
      host: 'h',
      pid: 1,
      version: 'test',
      capacity: 2,
      running: [],
      startedAt: before,
      state: 'running',
    });
    const view = await queueView(a!, before + 5000);
    const gpu = view.queues.find((q) => q.kind === 'exec-shell' && q.labels.join(',') === 'arm64,gpu');
    t.match(gpu, {
      waiting: 1,
      claimed: 0,
      servable: false,
      workers: 0,
      reason: 'no live exec-shell worker has labels arm64,gpu',
    });
    t.ok(gpu!.oldestWaitMs! >= 4000 && gpu!.oldestWaitMs! <= 5000 + (Date.now() - before), 'oldest wait from the name');
    const linux = view.queues.find((q) => q.kind === 'exec-shell' && q.labels.join(',') === 'linux');
    t.match(linux, { waiting: 1, servable: true, workers: 1, freeSlots: 2 });
    t.match(
      view.queues.find((q) => q.kind === 'control'),
      { servable: false, reason: 'no live control worker' },
    );
    t.equal(view.workers.length, 1);
  });

  t.test(`${harness.name}: a ticket lifecycle (claim to complete) costs 2 write transactions`, async (t) => {
    const [a, b] = await workers(t, 2);
    const [ref] = await postTickets(a!, [{ kind: 'control', payload: {} }]);
    const counting = countingStore(b!);
    const claim = await claimed(counting.store, ref!, 'w');
    await finishTicket(counting.store, claim, [resultOp('count', 'x')]);
    t.equal(counting.writes(), 2, 'one claim multi + one finishing multi');
  });

  t.test(`${harness.name}: an oversized ticket is refused and nothing is posted`, async (t) => {
    const [a] = await workers(t, 1);
    await t.rejects(postTickets(a!, [{ kind: 'control', payload: 'x'.repeat(5000) }]), {
      code: 'DISTCI_TICKET_TOO_LARGE',
    });
    t.same(await listClaimableTickets(a!, 'control', []), []);
  });
}
