/**
 * Killing the control worker mid-build (issue 4): a control worker is a separate OS process, SIGKILLed
 * while it holds a control ticket; another is started; the build finishes exactly once — one record,
 * one downstream build fired — and nothing is left in ZooKeeper.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { readJobNode, zpaths } from '@distci/common';
import t, { type Test } from 'tap';
import type { WorkerEvent } from '../src/worker-events.js';
import { startTestCluster } from './helpers/cluster.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'build-worker.ts');

function spawnWorker(t: Test, kind: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=distci-source', fixture, kind],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const waiters: Array<{ match: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let event: WorkerEvent;
    try {
      event = JSON.parse(line) as WorkerEvent;
    } catch {
      return;
    }
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    next: (match: (e: WorkerEvent) => boolean) =>
      new Promise<WorkerEvent>((resolve) => waiters.push({ match, resolve })),
  };
}

for (const killAt of [1, 2, 3]) {
  t.test(`a control worker SIGKILLed holding control ticket #${killAt}: the build finishes once`, async (t) => {
    const c = await startTestCluster(t, { 'exec-shell': 1 });
    await c.push({
      name: 'up',
      steps: [
        { name: 's1', type: 'exec-shell', run: 'echo one' },
        { name: 's2', type: 'exec-shell', run: 'echo two', needs: ['s1'] },
      ],
    });
    await c.push({
      name: 'down',
      triggers: { after: [{ job: 'up' }] },
      steps: [{ name: 'd', type: 'exec-shell', run: 'echo down' }],
    });
    const first = spawnWorker(t, 'control', c.env);
    await first.next((e) => (e.type as string) === 'ready');
    let claims = 0;
    const doomed = first.next((e) => e.type === 'claimed' && ++claims === killAt);
    const n = await c.trigger('up');
    const held = await doomed;
    first.child.kill('SIGKILL');
    await first.exited;
    t.comment(`killed while holding ${held.ticket} attempt ${held.attempt}`);

    const second = spawnWorker(t, 'control', c.env);
    const up = await c.finished('up', n);
    t.equal(up.status, 'success', 'the build finishes');
    t.same(
      up.steps.map((s) => [s.id, s.status]),
      [
        ['s1', 'success'],
        ['s2', 'success'],
      ],
    );
    const down = await c.finished('down', 1);
    t.equal(down.status, 'success');
    t.equal((await readJobNode(c.store, 'down')).node.nextBuild, 2, 'exactly one downstream build was fired');
    t.equal((await readJobNode(c.store, 'up')).node.lastSuccessful, n);
    t.same(await c.store.children(zpaths.builds('up')), [], 'no live build left');
    t.same(await c.store.children(zpaths.ticketQueue('control', [])), [], 'no control ticket left');
    second.child.kill('SIGTERM');
    await second.exited;
  });
}
