/**
 * The session-loss proof (DESIGN.md invariant 3, "leases are sessions"): a worker process that dies
 * without a word (SIGKILL) loses its ephemeral nodes — its claims — when ZooKeeper expires its session:
 * not before the session timeout, and within the timeout plus a few seconds. Another client learns it
 * from its watches, with no polling.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { WatchEvent } from '@distci/common';
import { loadServices, repoRoot, uniqueName } from '@distci/testkit';
import t from 'tap';
import { createZooKeeperStore } from '../src/zookeeper-store.js';

const { zk } = loadServices();
/** 2 s: short for the test, and 4 ticks of the test server (tickTime 500 ms, minSessionTimeout 1000 ms). */
const SESSION_TIMEOUT_MS = 2000;
/** The server checks expiry once a tick (500 ms); the rest is slack for a busy machine. */
const EXPIRY_SLACK_MS = 3000;
const HELD = 5;
const fixture = join(import.meta.dirname, 'fixtures', 'zk-session-holder.ts');

type Holder = ChildProcessByStdio<Writable, Readable, Readable>;

/** Reads the child's JSON lines one at a time. */
function lines(child: Holder): () => Promise<Record<string, unknown>> {
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return () =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the holder exited (${code}) early:\n${stderr}`));
      child.once('exit', onExit);
      const take = (line: string) => {
        child.off('exit', onExit);
        resolve(JSON.parse(line) as Record<string, unknown>);
      };
      const queued = queue.shift();
      if (queued !== undefined) take(queued);
      else waiters.push(take);
    });
}

t.test('a SIGKILLed holder loses its ephemeral nodes after the session timeout, and watches tell', async (t) => {
  const chroot = `/${uniqueName()}`;
  const observer = createZooKeeperStore({ connect: zk.connect, chroot, sessionTimeoutMs: 10_000 });
  t.teardown(() => observer.close());
  await observer.ready();

  const child: Holder = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=distci-source',
      fixture,
      zk.connect,
      chroot,
      String(SESSION_TIMEOUT_MS),
      `${HELD}`,
    ],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const next = lines(child);
  const ready = await next();
  const paths = ready.paths as string[];
  t.equal(paths.length, HELD);
  t.equal(ready.sessionTimeoutMs, SESSION_TIMEOUT_MS, 'the server granted the requested timeout');

  const deletions: Array<Promise<{ event: WatchEvent; at: number }>> = [];
  for (const path of paths) {
    let resolve!: (v: { event: WatchEvent; at: number }) => void;
    deletions.push(
      new Promise((r) => {
        resolve = r;
      }),
    );
    const stat = await observer.exists(path, (event) => resolve({ event, at: Date.now() }));
    t.equal(stat?.ephemeralOwner, ready.sessionId, `${path} is held by the child's session`);
  }

  // Make the server hear from the child's session right now, then kill it: the session timeout runs from here.
  const touchedAt = Date.now();
  child.stdin.write('touch\n');
  t.same(await next(), { touched: true });
  const killedAt = Date.now();
  child.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');

  const seen = await Promise.all(deletions);
  const delays = seen.map((s) => s.at - killedAt);
  t.comment(
    `ephemerals gone ${Math.min(...delays)}-${Math.max(...delays)} ms after SIGKILL (session timeout ${SESSION_TIMEOUT_MS} ms; the server last heard from the child ${killedAt - touchedAt} ms or less before the kill)`,
  );
  for (const [i, s] of seen.entries()) t.same(s.event, { type: 'deleted', path: paths[i] });
  // The server heard the touch after `touchedAt`, and expires a session no sooner than a timeout after it
  // last heard from it (10 ms for clock granularity).
  const sinceTouch = Math.min(...seen.map((s) => s.at)) - touchedAt;
  t.ok(sinceTouch >= SESSION_TIMEOUT_MS - 10, `not before the session timeout (${sinceTouch} ms after the last word)`);
  t.ok(Math.max(...delays) <= SESSION_TIMEOUT_MS + EXPIRY_SLACK_MS, 'within the timeout and a few seconds');
  for (const path of paths) t.equal(await observer.exists(path), null, `${path} is gone`);
  t.same(await observer.children('/'), [], 'nothing of the dead session is left');
});
