/**
 * Many worker processes on one real ZooKeeper: every ticket is completed exactly once (invariants 1-2),
 * and nothing is left behind.
 */
import { postTickets, type TicketSpec, zpaths } from '@distci/common';
import t from 'tap';
import { allLines, spawnWorkers, waitUntil } from './helpers/worker-processes.js';
import { childrenOrNone, testChroot } from './helpers/zookeeper.js';

const TICKETS = 1000;
const WORKERS = 8;
const CONCURRENCY = 4;
/** 100 creates per multi: ~15 KiB, far under ZooKeeper's 1 MiB request limit. */
const BATCH = 100;

t.test(`${TICKETS} tickets, ${WORKERS} worker processes × ${CONCURRENCY}: each completed exactly once`, async (t) => {
  const zk = testChroot(t);
  const store = await zk.open();
  const workers = await spawnWorkers(t, WORKERS, {
    connect: zk.connect,
    chroot: zk.chroot,
    sessionMs: 10_000,
    concurrency: CONCURRENCY,
  });
  const completed = new Set<string>();
  let duplicates = 0;
  for (const w of workers) {
    w.onLine((line) => {
      if (line.type !== 'completed' || !line.ticket) return;
      if (completed.has(line.ticket)) duplicates++;
      completed.add(line.ticket);
    });
  }

  const t0 = Date.now();
  const posted: string[] = [];
  for (let i = 0; i < TICKETS; i += BATCH) {
    const specs: TicketSpec[] = Array.from({ length: Math.min(BATCH, TICKETS - i) }, (_, j) => ({
      kind: 'exec-shell',
      payload: { id: `n${i + j}` },
    }));
    const refs = await postTickets(store, specs);
    posted.push(...refs.map((r) => `${r.kind}/${r.id}`));
  }
  const postedMs = Date.now() - t0;
  await waitUntil(
    workers,
    () => completed.size >= TICKETS,
    () => `${TICKETS} completions (have ${completed.size})`,
    120_000,
  );
  const elapsed = Date.now() - t0;

  const lines = allLines(workers);
  const completions = lines.filter((l) => l.type === 'completed');
  t.equal(completed.size, TICKETS, 'exactly the posted number of distinct tickets completed');
  t.equal(duplicates, 0, 'no ticket completed twice');
  t.equal(completions.length, TICKETS, 'one completed event per ticket');
  t.same([...completed].sort(), [...posted].sort(), 'the completed tickets are the posted ones');
  t.same(
    lines.filter((l) => l.type === 'error' || l.type === 'fenced' || l.type === 'abandoned'),
    [],
    'no errors, fencing or abandoned attempts',
  );
  t.equal((await store.children('/results')).length, TICKETS, 'one result node per ticket');
  t.ok(
    (await store.children('/results')).every((n) => n.endsWith('-a1')),
    'every ticket completed at its first attempt',
  );
  t.same(await childrenOrNone(store, `${zpaths.ticketKind('exec-shell')}/_`), [], 'no ticket left');
  t.same(await childrenOrNone(store, zpaths.claimKind('exec-shell')), [], 'no claim left');
  const perWorker = workers.map((w) => w.lines.filter((l) => l.type === 'completed').length);
  t.comment(
    `throughput: ${TICKETS} tickets in ${elapsed} ms = ${Math.round((TICKETS * 1000) / elapsed)} tickets/s ` +
      `(posted in ${postedMs} ms; per worker ${perWorker.join(', ')})`,
  );
  for (const w of workers) w.kill('SIGTERM');
  for (const w of workers) t.same(await w.exited, { code: 0, signal: null }, `${w.id} drained and exited 0`);
});
