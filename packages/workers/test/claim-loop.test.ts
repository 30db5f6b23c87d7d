/**
 * The claim loop never holds a claim it does not run. A pass claims a batch in parallel; when one claim
 * of the batch fails (a connection loss while reading its ticket), the others of the batch did claim:
 * each must be started, or its ephemeral claim node holds the ticket for as long as the worker's session
 * lives, with nothing running it (the chaos suite's "builds stuck: 1" on CI: a control ticket claimed,
 * attempt 4, by a live worker that never ran it).
 */
import { type Claim, type CoordinationStore, distciError, openTickets, postTickets, zpaths } from '@distci/common';
import { memoryStore } from '@distci/testkit';
import t from 'tap';
import { claimLoop } from '../src/claim-loop.js';
import type { TicketHandler } from '../src/ticket-handler.js';
import { runTicket } from '../src/ticket-runner.js';
import { Wakeup } from '../src/wakeup.js';
import type { WorkerOptions } from '../src/worker-options.js';

/** `store`, with the first `get` of `failPath` answered by a lost connection. */
function failingOnce(store: CoordinationStore, failPath: string): CoordinationStore {
  let failed = false;
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'get') {
        return async (path: string, ...rest: unknown[]) => {
          if (path === failPath && !failed) {
            failed = true;
            throw distciError('DISTCI_CONNECTION_LOSS', 'connection lost (test)');
          }
          return (target.get as (...a: unknown[]) => unknown)(path, ...rest);
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

t.test('a batch where one claim fails still starts every claim it made', async (t) => {
  const raw = await memoryStore(t, '/claim-loop');
  const refs = await postTickets(raw, [
    { kind: 'control', payload: { n: 1 } },
    { kind: 'control', payload: { n: 2 } },
  ]);
  await raw.ensurePath(zpaths.claimKind('control'));
  const store = failingOnce(raw, refs[1]!.path);
  const tickets = openTickets(store);

  const started: Claim[] = [];
  const controller = new AbortController();
  const options = { id: 'w1', host: 'h', kind: 'control', labels: [], concurrency: 2, sweepMs: 60_000 };
  const handler: TicketHandler = { run: async () => ({ status: 'complete' }) };
  let heldAtError: string[] | undefined;
  const loop = claimLoop({
    store,
    tickets,
    options: options as unknown as WorkerOptions,
    handler,
    wakeup: new Wakeup(),
    freeSlots: () => 2 - started.length,
    start: (claim) => {
      started.push(claim);
      if (started.length === 2) controller.abort();
    },
    report: (type) => {
      if (type !== 'error' || heldAtError) return;
      // The pass that failed has ended: every claim node in the store must be one the loop started.
      void raw.children(zpaths.claimKind('control')).then((names) => {
        heldAtError = names;
      });
    },
    signal: controller.signal,
  });
  // Bounded: before the fix the first claim was never started, and the loop waited for ever.
  const guard = setTimeout(() => controller.abort(), 10_000);
  await loop;
  clearTimeout(guard);
  t.ok(heldAtError, 'the failed claim was reported');
  const startedNames = started.map((c) => c.claimPath.slice(c.claimPath.lastIndexOf('/') + 1)).sort();
  t.same(heldAtError, startedNames.slice(0, heldAtError!.length), 'every claim held after the failed pass was started');
  t.equal(started.length, 2, 'both tickets ran: the failed one on the next pass');
  t.same(started.map((c) => (c.ticket.data.payload as { n: number }).n).sort(), [1, 2]);
});

/** Runs one claimed ticket to its end with `handler`, recording the runner's reports as `type: message`. */
function runOnce(store: CoordinationStore, claim: Claim, handler: TicketHandler, events: string[]): Promise<void> {
  const report = (type: string, message?: string) => events.push(`${type}: ${message}`);
  return runTicket({ store, tickets: openTickets(store), claim, handler, controller: new AbortController(), report });
}

t.test('a ticket whose giving up fails too is given back, not held by the live session', async (t) => {
  const store = await memoryStore(t, '/runner');
  const [ref] = await postTickets(store, [{ kind: 'control', payload: { n: 1 }, maxAttempts: 1 }]);
  const tickets = openTickets(store);
  const result = await tickets.claim(ref!, { id: 'w1', host: 'h' });
  if (result.outcome !== 'claimed') throw new Error(result.outcome);
  const events: string[] = [];
  // The control handler's turn and its give-up turn both need the object store, which is down.
  const handler: TicketHandler = {
    run: async () => {
      throw new Error('object store down (test)');
    },
    exhausted: async () => {
      throw new Error('object store still down (test)');
    },
  };
  await runOnce(store, result.claim, handler, events);
  t.match(events, [/^released: could not give up \(object store still down/], String(events));
  t.equal(await store.exists(result.claim.claimPath), null, 'the claim is gone (before: held until the session ends)');
  const again = await tickets.claim(ref!, { id: 'w2', host: 'h' });
  t.equal(again.outcome, 'claimed', 'another attempt can take the ticket');
});

t.test('a ticket whose giving up keeps conflicting is dropped after backed-off tries, not looped', async (t) => {
  const store = await memoryStore(t, '/conflicts');
  const [ref] = await postTickets(store, [{ kind: 'exec-shell', payload: { n: 1 }, maxAttempts: 1 }]);
  const tickets = openTickets(store);
  // The step's give-up result names a build that is gone: its write fails with NoNode every time.
  const handler: TicketHandler = {
    run: async () => {
      throw new Error('the step could not run (test)');
    },
    exhausted: async () => ({
      status: 'fail',
      ops: [{ type: 'set', path: '/jobs/gone/builds/b-1', data: Buffer.from('{}'), version: -1 }],
    }),
  };
  const started = Date.now();
  const events: string[] = [];
  for (let i = 0; i < 5 && (await store.exists(ref!.path)); i++) {
    const result = await tickets.claim(ref!, { id: `w${i}`, host: 'h' });
    if (result.outcome !== 'claimed') throw new Error(result.outcome);
    await runOnce(store, result.claim, handler, events);
  }
  // Before the fix: released at once, not counted, for ever (this loop ran out with the ticket there).
  t.equal(await store.exists(ref!.path), null, `the ticket is gone (${events.join(' | ')})`);
  t.equal(events.length, 3, 'two backed-off tries, then dropped');
  t.match(events.at(-1), /^exhausted: dropped: giving up conflicted again/);
  t.ok(Date.now() - started >= 1000, `the tries backed off (${Date.now() - started} ms)`);
});
