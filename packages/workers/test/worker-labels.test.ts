/**
 * Labels: a ticket asking for labels no live worker has waits — never claimed, never in the way of
 * others — and the queue view says why.
 */
import { postTickets, queueView, type TicketSpec } from '@distci/common';
import t from 'tap';
import { allLines, spawnWorker, waitUntil } from './helpers/worker-processes.js';
import { testChroot } from './helpers/zookeeper.js';

t.test('a ticket needing labels nobody has is never claimed while other tickets flow', async (t) => {
  const zk = testChroot(t);
  const store = await zk.open();
  const common = { connect: zk.connect, chroot: zk.chroot, sessionMs: 10_000, concurrency: 2 };
  const workers = [
    spawnWorker(t, { ...common, labels: ['linux'] }),
    spawnWorker(t, { ...common, labels: ['linux', 'arm64'] }),
  ];
  await Promise.all(workers.map((w) => w.waitFor((l) => l.fixture === 'ready', 'ready', 60_000)));

  // The unservable ticket is the oldest and the most urgent: it must not hold up anything behind it.
  const [gpu] = await postTickets(store, [{ kind: 'exec-shell', labels: ['gpu'], priority: 9, payload: {} }]);
  const specs: TicketSpec[] = [
    ...Array.from({ length: 20 }, () => ({ kind: 'exec-shell' as const, labels: ['linux'], payload: {} })),
    ...Array.from({ length: 5 }, () => ({ kind: 'exec-shell' as const, labels: ['arm64', 'linux'], payload: {} })),
  ];
  const refs = await postTickets(store, specs);
  const completed = () =>
    new Set(
      allLines(workers)
        .filter((l) => l.type === 'completed')
        .map((l) => l.ticket),
    );
  await waitUntil(
    workers,
    () => completed().size >= refs.length,
    () => `${refs.length} completions`,
    60_000,
  );

  t.equal(completed().size, refs.length, 'every servable ticket completed');
  const arm = new Set(refs.slice(20).map((r) => `${r.kind}/${r.id}`));
  t.ok(
    allLines(workers).every((l) => l.type !== 'claimed' || !arm.has(l.ticket!) || l.worker === workers[1]!.id),
    'arm64 tickets went only to the arm64 worker',
  );
  const gpuTicket = `exec-shell/${gpu!.id}`;
  t.notOk(
    allLines(workers).some((l) => l.ticket === gpuTicket),
    'the gpu ticket was never claimed',
  );
  t.same(await store.children('/tickets/exec-shell/gpu'), [gpu!.name], 'the gpu ticket still waits');

  const view = await queueView(store);
  const entry = view.queues.find((q) => q.kind === 'exec-shell' && q.labels.join(',') === 'gpu');
  t.match(entry, { waiting: 1, claimed: 0, workers: 0, servable: false }, 'the queue view lists the gpu queue');
  t.equal(entry?.reason, 'no live exec-shell worker has labels gpu', 'and says why it waits');
  t.same(
    view.queues.filter((q) => q.waiting > 0).map((q) => q.labels.join(',')),
    ['gpu'],
    'nothing else waits',
  );
  t.same(view.workers.map((w) => w.labels.join(',')).sort(), ['arm64,linux', 'linux'], 'both workers are listed');
});
