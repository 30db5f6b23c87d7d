/**
 * What a ticket costs ZooKeeper (DESIGN.md: "two write transactions per step is the floor; say in code
 * where you spend more"): an in-process worker on a real ZooKeeper store wrapped in a counting proxy.
 * From claim to complete, a ticket costs exactly two writes — the claim multi and the finishing multi,
 * which also records the result and posts the successors — besides presence (visibility only, coalesced
 * to at most one write a second, whatever the load). A process pays a few more once: the parents of its
 * own queue and claims at start, and each successor queue the first time it posts there.
 */
import { type CoordinationStore, type Op, postTickets, type TicketSpec, zpaths } from '@distci/common';
import t from 'tap';
import { compileWorkerOptions, createWorker, type TicketHandler, type WorkerEvent } from '../src/index.js';
import { testChroot } from './helpers/zookeeper.js';

const TICKETS = 50;

interface Call {
  method: string;
  paths: string[];
  ops?: Op['type'][];
}

/** A store whose every call is recorded; calls go to the real store (bound: its own inner calls are not). */
function counting(store: CoordinationStore): { store: CoordinationStore; calls: Call[] } {
  const calls: Call[] = [];
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const method = String(key);
        if (method === 'multi') {
          const ops = args[0] as Op[];
          calls.push({ method, paths: ops.map((o) => o.path), ops: ops.map((o) => o.type) });
        } else if (typeof args[0] === 'string') {
          calls.push({ method, paths: [args[0]] });
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

const WRITES = new Set(['create', 'set', 'delete', 'multi', 'ensurePath']);
const isWrite = (c: Call) => WRITES.has(c.method);
const isPresence = (c: Call) => c.paths.every((p) => p.startsWith(`${zpaths.workers()}/`));

t.test('a ticket lifecycle (claim to complete) costs the worker 2 write transactions', async (t) => {
  const zk = testChroot(t);
  const poster = await zk.open();
  const counted = counting(await zk.open());
  const events: WorkerEvent[] = [];
  const waiters = new Set<() => void>();
  const handler: TicketHandler = {
    async run({ claim }) {
      const payload = claim.ticket.data.payload as { successor?: boolean };
      const successors: TicketSpec[] = payload.successor
        ? [{ kind: 'control', payload: { after: claim.ticket.id } }]
        : [];
      const ops: Op[] = [{ type: 'create', path: `/results/${claim.ticket.id}-a${claim.attempt}` }];
      return { status: 'complete', ops, successors };
    },
  };
  const worker = createWorker({
    store: counted.store,
    options: compileWorkerOptions({ kind: 'exec-shell', concurrency: 4, workerId: 'counted' }, {}),
    handler,
    onEvent: (e) => {
      events.push(e);
      for (const w of waiters) w();
    },
  });
  const completions = () => events.filter((e) => e.type === 'completed').length;
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (completions() < n) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  await poster.ensurePath('/results');
  const running = worker.run();
  t.teardown(() => worker.drain(0));

  // Warm-up: one ticket with a successor, so that the process has met every parent it will post under.
  await postTickets(poster, [{ kind: 'exec-shell', payload: { successor: true } }]);
  await until(1);
  const warmUp = counted.calls.filter((c) => isWrite(c) && !isPresence(c));
  counted.calls.length = 0;

  const specs: TicketSpec[] = Array.from({ length: TICKETS }, (_, i) => ({
    kind: 'exec-shell',
    payload: { successor: i % 2 === 0 },
  }));
  await postTickets(poster, specs);
  await until(TICKETS + 1);
  await worker.drain();
  await running;

  const writes = counted.calls.filter((c) => isWrite(c) && !isPresence(c));
  const presence = counted.calls.filter((c) => isWrite(c) && isPresence(c));
  const reads = counted.calls.filter((c) => !isWrite(c) && c.method !== 'onState');
  t.equal(writes.length, 2 * TICKETS, `${2 * TICKETS} write transactions for ${TICKETS} tickets`);
  t.ok(
    writes.every((c) => c.method === 'multi'),
    'each of them one multi',
  );
  const claims = writes.filter((c) => c.ops?.join() === 'set,create');
  const finishes = writes.filter((c) => c.ops?.slice(0, 3).join() === 'delete,delete,create');
  t.equal(claims.length, TICKETS, 'one claim multi per ticket: set the ticket, create the claim');
  t.equal(finishes.length, TICKETS, 'one finishing multi per ticket: delete claim and ticket, record, post');
  t.equal(finishes.filter((c) => c.ops!.length === 4).length, TICKETS / 2, 'successors ride in the finishing multi');
  t.equal(new Set(claims.map((c) => c.paths[0])).size, TICKETS, 'each ticket claimed once');
  t.equal((await poster.children(zpaths.ticketQueue('control', []))).length, TICKETS / 2 + 1, 'successors posted');
  t.comment(
    `per ticket: ${writes.length / TICKETS} writes, ${(reads.length / TICKETS).toFixed(1)} reads ` +
      `(lists, ticket get, claim exists); presence: ${presence.length} writes in all; once per process: ` +
      `${warmUp.length - 2} (${warmUp
        .filter((c) => c.method !== 'multi')
        .map((c) => `${c.method} ${c.paths[0]}`)
        .join(', ')})`,
  );
});
