/**
 * DESIGN.md invariants 1-4 under random interleavings (fast-check), on the embedded store (ZooKeeper's
 * semantics, in process: thousands of runs in seconds). Several clients, each its own session, post,
 * claim (alone, or several racing for one ticket), complete or fail, release (given back, or counted as
 * lost), and have their sessions expired by the server, after which they still try to record what they
 * held — as they are (the client knows its session changed) and forged with the new session id (a zombie
 * that does not know: only the server-side fence stops it). Checked after every step and at the end:
 * 1. no ticket is lost: once every client has finished what it holds and a last worker has claimed what
 *    is left, each posted ticket has exactly one outcome — one result (completed or failed), or one
 *    `infrastructure` failure once its claims vanished `maxAttempts` times;
 * 2. at most one live claim per ticket, at most one winner of a race, and attempt numbers never repeat;
 * 3. a ticket whose claim vanished is claimable again (as the next attempt) — the final sweep relies on it;
 * 4. a claim that was lost never records anything, and a claim that was not lost is never refused.
 */
import {
  type Claim,
  type CoordinationStore,
  claimTicket,
  failExhaustedTicket,
  finishTicket,
  isDistciError,
  listClaimableTickets,
  type Op,
  postTickets,
  releaseTicket,
  zpaths,
} from '@distci/common';
import { createEmbeddedServer } from '@distci/store-embedded';
import fc from 'fast-check';
import t from 'tap';

const CLIENTS = 3;
const KIND = 'exec-shell';

type Action =
  | { type: 'post'; n: number; maxAttempts: number }
  | { type: 'claim'; clients: number[]; pick: number }
  | { type: 'complete'; client: number; pick: number; fail: boolean }
  | { type: 'release'; client: number; pick: number; lost: boolean }
  | { type: 'expire'; client: number }
  | { type: 'zombie'; client: number; pick: number; forge: boolean };

const client = fc.nat(CLIENTS - 1);
/** Weighted towards claims and zombies, so that most runs reach expiry, fencing and exhaustion. */
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('post' as const),
      n: fc.integer({ min: 1, max: 3 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('claim' as const),
      clients: fc.uniqueArray(client, { minLength: 1, maxLength: CLIENTS }),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant('complete' as const), client, pick: fc.nat(), fail: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('release' as const), client, pick: fc.nat(), lost: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('expire' as const), client }) },
  {
    weight: 3,
    arbitrary: fc.record({ type: fc.constant('zombie' as const), client, pick: fc.nat(), forge: fc.boolean() }),
  },
);

interface Client {
  store: CoordinationStore;
  /** Claims made in the current session: they must be honoured. */
  live: Claim[];
  /** Claims whose session the server expired: they must never record. */
  zombies: Claim[];
}

/** The result of one attempt (completed or failed: the finishing multi records it either way). */
const resultPath = (id: string, attempt: number) => `/results/${id}-a${attempt}`;
/** The `infrastructure` failure of a ticket whose claims vanished `maxAttempts` times. */
const exhaustedPath = (id: string) => `/exhausted/${id}`;

class Run {
  readonly posted = new Set<string>();
  /** Every attempt number ever given out, per ticket. */
  readonly attempts = new Map<string, number[]>();
  readonly recorded = new Set<string>();
  readonly log: string[] = [];

  constructor(
    readonly clients: Client[],
    readonly server: ReturnType<typeof createEmbeddedServer>,
  ) {}

  /** Claims `ref` for client `i`; handles `exhausted` as the claim loop does. */
  async claim(i: number, ref: Parameters<typeof claimTicket>[1]): Promise<'claimed' | 'lost-race' | 'failed'> {
    const c = this.clients[i]!;
    const result = await claimTicket(c.store, ref, { id: `c${i}`, host: 'test' });
    if (result.outcome === 'claimed') {
      const { claim } = result;
      const seen = this.attempts.get(ref.id) ?? [];
      if (seen.includes(claim.attempt)) throw new Error(`attempt ${claim.attempt} of ${ref.id} given out twice`);
      if (seen.some((a) => a > claim.attempt)) throw new Error(`attempt ${claim.attempt} of ${ref.id} went backwards`);
      this.attempts.set(ref.id, [...seen, claim.attempt]);
      c.live.push(claim);
      this.log.push(`c${i} claimed ${ref.id} #${claim.attempt}`);
      return 'claimed';
    }
    if (result.outcome === 'exhausted') {
      const done = await failExhaustedTicket(c.store, result.ticket, [{ type: 'create', path: exhaustedPath(ref.id) }]);
      if (done) {
        this.recorded.add(exhaustedPath(ref.id));
        this.log.push(`c${i} failed ${ref.id} as exhausted`);
        return 'failed';
      }
    }
    return 'lost-race';
  }

  async finish(c: Client, claim: Claim, fail = false): Promise<void> {
    const ops: Op[] = [
      {
        type: 'create',
        path: resultPath(claim.ticket.id, claim.attempt),
        data: Buffer.from(fail ? 'failed' : 'completed'),
      },
    ];
    await finishTicket(c.store, claim, ops);
    this.recorded.add(resultPath(claim.ticket.id, claim.attempt));
  }

  /** Invariant 2, from the store itself: never two live claim nodes for one ticket. */
  async checkClaims(): Promise<void> {
    const names = await this.clients[0]!.store.children(zpaths.claimKind(KIND));
    const ids = names.map((n) => n.slice(0, n.lastIndexOf('-')));
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (twice.length > 0) throw new Error(`two live claims on ${twice.join(', ')}`);
  }
}

async function step(run: Run, a: Action): Promise<void> {
  const pick = <T>(items: T[], n: number): T | undefined => (items.length === 0 ? undefined : items[n % items.length]);
  switch (a.type) {
    case 'post': {
      const refs = await postTickets(
        run.clients[0]!.store,
        Array.from({ length: a.n }, () => ({ kind: KIND, maxAttempts: a.maxAttempts, payload: {} })),
      );
      for (const r of refs) run.posted.add(r.id);
      run.log.push(`posted ${refs.map((r) => r.id).join(' ')} (max ${a.maxAttempts})`);
      return;
    }
    case 'claim': {
      const refs = await listClaimableTickets(run.clients[a.clients[0]!]!.store, KIND, []);
      const ref = pick(refs, a.pick);
      if (!ref) return;
      // Several clients race for the same ticket: at most one may win.
      const outcomes = await Promise.all(a.clients.map((i) => run.claim(i, ref)));
      if (outcomes.filter((o) => o === 'claimed').length > 1) throw new Error(`${ref.id} claimed twice in a race`);
      return;
    }
    case 'complete':
    case 'release': {
      const c = run.clients[a.client]!;
      const claim = pick(c.live, a.pick);
      if (!claim) return;
      c.live.splice(c.live.indexOf(claim), 1);
      // A live claim must be honoured: any error here fails the property.
      if (a.type === 'complete') await run.finish(c, claim, a.fail);
      else await releaseTicket(c.store, claim, { lost: a.lost });
      run.log.push(`c${a.client} ${a.type}d ${claim.ticket.id} #${claim.attempt}`);
      return;
    }
    case 'expire': {
      // Preferably a client holding claims: that is what makes zombies.
      const c =
        pick(
          run.clients.filter((x) => x.live.length > 0),
          a.client,
        ) ?? run.clients[a.client]!;
      await run.server.expireSession(c.store.sessionId!);
      c.zombies.push(...c.live.splice(0));
      run.log.push(`c${run.clients.indexOf(c)} session expired`);
      return;
    }
    case 'zombie': {
      const c = pick(
        run.clients.filter((x) => x.zombies.length > 0),
        a.client,
      );
      const zombie = c && pick(c.zombies, a.pick);
      if (!c || !zombie) return;
      // Forged: the zombie believes its claim lives in the current session, so the client-side check
      // passes and only the server-side fence (the claim node's delete) can refuse it.
      const claim = a.forge ? { ...zombie, sessionId: c.store.sessionId } : zombie;
      try {
        await run.finish(c, claim);
      } catch (err) {
        if (!isDistciError(err, 'DISTCI_CLAIM_LOST')) throw err;
        run.log.push(
          `c${run.clients.indexOf(c)} zombie ${zombie.ticket.id} #${zombie.attempt} fenced${a.forge ? ' (forged)' : ''}`,
        );
        return;
      }
      throw new Error(`zombie claim on ${zombie.ticket.id} #${zombie.attempt} recorded a result`);
    }
  }
}

/** Every client finishes what it holds; then one client claims and completes what is left. */
async function settle(run: Run): Promise<void> {
  for (const c of run.clients) {
    for (const claim of c.live.splice(0)) await run.finish(c, claim);
  }
  const store = run.clients[0]!.store;
  for (let round = 0; ; round++) {
    if (round > 100) throw new Error('tickets are left after 100 rounds of claiming');
    const refs = await listClaimableTickets(store, KIND, []);
    if (refs.length === 0) break;
    for (const ref of refs) {
      if ((await run.claim(0, ref)) !== 'claimed') continue;
      await run.finish(run.clients[0]!, run.clients[0]!.live.pop()!);
    }
  }
}

async function outcomes(store: CoordinationStore): Promise<Map<string, string[]>> {
  const byTicket = new Map<string, string[]>();
  const add = (id: string, what: string) => byTicket.set(id, [...(byTicket.get(id) ?? []), what]);
  for (const n of await store.children('/results')) add(n.slice(0, n.lastIndexOf('-a')), n);
  for (const n of await store.children('/exhausted')) add(n, 'exhausted');
  return byTicket;
}

t.test('invariants 1-4 hold under random interleavings of post, claim, finish, release and expiry', async (t) => {
  const server = createEmbeddedServer();
  t.teardown(() => server.close());
  let runs = 0;
  let expiries = 0;
  let fenced = 0;
  let exhausted = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
      const chroot = `/p${++runs}`;
      const clients: Client[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        clients.push({ store: await server.connect({ chroot }), live: [], zombies: [] });
      }
      const run = new Run(clients, server);
      try {
        await clients[0]!.store.ensurePath('/results');
        await clients[0]!.store.ensurePath('/exhausted');
        await clients[0]!.store.ensurePath(zpaths.claimKind(KIND));
        await clients[0]!.store.ensurePath(zpaths.ticketQueue(KIND, []));
        for (const a of actions) {
          await step(run, a);
          await run.checkClaims();
        }
        await settle(run);
        const store = clients[0]!.store;
        const left = await store.children(zpaths.ticketQueue(KIND, []));
        if (left.length > 0) throw new Error(`tickets left: ${left.join(', ')}`);
        const byTicket = await outcomes(store);
        for (const id of run.posted) {
          const got = byTicket.get(id) ?? [];
          if (got.length !== 1) throw new Error(`ticket ${id} has ${got.length} outcomes: ${got.join(', ')}`);
        }
        if (byTicket.size !== run.posted.size) throw new Error('outcomes for tickets nobody posted');
        // Everything recorded is what the model expected to be recorded, and nothing more (invariant 4).
        const stored = [...byTicket.entries()].flatMap(([id, o]) =>
          o.map((n) => (n === 'exhausted' ? exhaustedPath(id) : `/results/${n}`)),
        );
        const expected = [...run.recorded].sort().join('\n');
        if (stored.sort().join('\n') !== expected) {
          throw new Error(`recorded:\n${stored.join('\n')}\nbut the live claims finished:\n${expected}`);
        }
        expiries += run.log.filter((l) => l.endsWith('session expired')).length;
        fenced += run.log.filter((l) => l.includes('fenced')).length;
        exhausted += run.log.filter((l) => l.includes('exhausted')).length;
      } catch (err) {
        throw new Error(`${(err as Error).message}\nlog:\n${run.log.join('\n')}`);
      } finally {
        await Promise.all(clients.map((c) => c.store.close()));
      }
    }),
    { numRuns: 1000 },
  );
  t.comment(
    `${runs} runs: ${expiries} session expiries, ${fenced} zombie finishes fenced, ${exhausted} tickets exhausted`,
  );
  t.ok(fenced > 0 && exhausted > 0, 'the runs reached fencing and exhaustion');
  t.pass(`every run kept invariants 1-4`);
});
