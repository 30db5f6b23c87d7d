/**
 * A silent partition (DESIGN.md, "Known trap"): a worker process reaches ZooKeeper through a TCP proxy
 * that stops moving bytes without closing anything. The ZooKeeper adapter's watchdog notices the silence
 * (no byte for 2/3 of the session timeout), the worker pauses, and — once the server has expired its
 * session — another worker resumes its ticket, while the cut-off worker never records a result for it
 * (invariant 4). When the network heals, the worker comes back with a new session and works again.
 */
import { listWorkers, postTickets } from '@distci/common';
import { startTcpProxy } from '@distci/testkit';
import t from 'tap';
import { spawnWorker, spawnWorkers, type WorkerLine } from './helpers/worker-processes.js';
import { testChroot } from './helpers/zookeeper.js';

/** 3 s: the watchdog fires after 2 s of silence; the server expires the session 3-3.5 s after last contact. */
const SESSION_MS = 3000;
/** Slack for a busy 2-core machine on top of the watchdog's 2/3 of the session timeout. */
const DETECT_SLACK_MS = 750;

const isEvent = (type: string, ticket: string, attempt?: number) => (l: WorkerLine) =>
  l.type === type && l.ticket === ticket && (attempt === undefined || l.attempt === attempt);

t.test(
  'silent partition: the worker pauses, is fenced out of its ticket, and rejoins with a new session',
  async (t) => {
    const zk = testChroot(t);
    const store = await zk.open();
    const proxy = await startTcpProxy(Number(zk.connect.split(':')[1]));
    t.teardown(() => proxy.close());

    const cut = spawnWorker(t, { connect: `127.0.0.1:${proxy.port}`, chroot: zk.chroot, sessionMs: SESSION_MS });
    const ready = await cut.waitFor((l) => l.fixture === 'ready', 'ready', 60_000);
    // Attempt 1 holds until the test lets it finish, during the partition (after the pause, before the
    // session can come back), so the runner really tries to record it; attempt 2 is quick.
    const [ref] = await postTickets(store, [{ kind: 'exec-shell', payload: { holdByAttempt: { 1: true } } }]);
    const ticket = `exec-shell/${ref!.id}`;
    await cut.waitFor(isEvent('claimed', ticket, 1), 'attempt 1');
    const [other] = await spawnWorkers(t, 1, { connect: zk.connect, chroot: zk.chroot, sessionMs: SESSION_MS });

    const frozenAt = Date.now();
    proxy.freeze();
    const paused = await cut.waitFor((l) => l.type === 'paused', 'paused', SESSION_MS * 2);
    const detectMs = paused.at - frozenAt;
    t.comment(`partition detected (paused) ${detectMs} ms after the freeze (session ${SESSION_MS} ms)`);
    t.ok(detectMs <= (SESSION_MS * 2) / 3 + DETECT_SLACK_MS, `paused within 2/3 of the session timeout + slack`);
    cut.kill('SIGUSR2');
    await cut.waitFor((l) => l.fixture === 'handler-done' && l.ticket === ticket, 'attempt 1 to finish its work');

    const resumed = await other!.waitFor(isEvent('claimed', ticket, 2), 'attempt 2', SESSION_MS + 10_000);
    t.comment(`the other worker resumed the ticket ${resumed.at - frozenAt} ms after the freeze`);
    await other!.waitFor(isEvent('completed', ticket, 2), 'attempt 2 completed');
    // Work posted during the partition goes to the worker that can reach ZooKeeper.
    const [during] = await postTickets(store, [{ kind: 'exec-shell', payload: {} }]);
    await other!.waitFor(isEvent('completed', `exec-shell/${during!.id}`), 'a ticket posted during the partition');
    // The cut-off worker gave up attempt 1 on its own: its session is over by its own clock too.
    const gaveUp = await cut.waitFor(
      (l) => (l.type === 'abandoned' || l.type === 'fenced' || l.type === 'completed') && l.ticket === ticket,
      'the end of attempt 1',
      SESSION_MS * 4,
    );
    t.match(gaveUp.type, /^(abandoned|fenced)$/, `attempt 1 ended ${gaveUp.type}, never completed`);
    t.notOk(
      cut.lines.some((l) => l.type === 'claimed' && l.at >= paused.at),
      'the cut-off worker started nothing after it paused',
    );

    // Heal. Only the healed worker is left to take new work.
    other!.kill('SIGTERM');
    await other!.exited;
    const healedAt = Date.now();
    proxy.unfreeze();
    const back = await cut.waitFor(
      (l) => l.fixture === 'state' && l.state === 'connected' && l.at >= healedAt,
      'a new session after the heal',
      SESSION_MS * 4,
    );
    t.not(back.sessionId, ready.sessionId, 'the worker rejoined with a new session');
    await cut.waitFor((l) => l.type === 'resumed', 'resumed');
    const [after] = await postTickets(store, [{ kind: 'exec-shell', payload: {} }]);
    await cut.waitFor(isEvent('completed', `exec-shell/${after!.id}`), 'a ticket posted after the heal');
    t.comment(`rejoined ${back.at - healedAt} ms after the heal (${gaveUp.type}: ${gaveUp.message ?? ''})`);
    t.ok(
      (await listWorkers(store, 'exec-shell')).some((w) => w.id === cut.id && w.state === 'running'),
      'its presence node is back',
    );

    const results = (await store.children('/results')).filter((n) => n.startsWith(ref!.id));
    t.same(results, [`${ref!.id}-a2`], 'the partitioned ticket has one result, from attempt 2');
    t.same(
      JSON.parse((await store.get(`/results/${ref!.id}-a2`)).data.toString()),
      { worker: other!.id, attempt: 2 },
      'recorded by the other worker',
    );
  },
);
