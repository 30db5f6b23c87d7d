/**
 * Process groups with real processes: zombies do not count as members, a stopped member still ends on
 * SIGTERM (SIGCONT follows it), members that ignore SIGTERM get SIGKILL after the grace, and an empty
 * group ends at once. The exec-shell tests cover the same through the kind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { liveGroupMembers, signalGroup, terminateGroup } from '../../src/kinds/process-group.js';

/** Spawns `sh -c script` as the leader of a new group, killed (the whole group) in teardown. */
async function group(t: Test, script: string): Promise<{ child: ChildProcess; pgid: number; lines: string[] }> {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child, 'spawn');
  const pgid = child.pid!;
  t.teardown(() => {
    signalGroup(pgid, 'SIGKILL');
  });
  const lines: string[] = [];
  child.stdout!.setEncoding('utf8');
  // The script prints `ready` once everything it wants to show is in place.
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: string) => {
      text += d;
      lines.splice(0, lines.length, ...text.split('\n').filter(Boolean));
      if (lines.includes('ready')) resolve();
    });
    child.once('close', () => reject(new Error(`the group leader exited before ready: ${text}`)));
  });
  return { child, pgid, lines };
}

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return null;
  }
}

t.test('zombies are not live members', async (t) => {
  // `sleep 1000` (exec'd in place of sh) never waits for the child sh started: it stays a zombie.
  // The child outlives the exec (0.3 s), because sh reaps a child that is already done before it execs.
  const { pgid, lines } = await group(t, 'sleep 0.3 & echo $!; echo ready; exec sleep 1000');
  const zombie = Number(lines[0]);
  // No event tells a non-parent that a process became a zombie: poll, bounded (about 0.3 s).
  for (let i = 0; i < 500 && state(zombie) !== 'Z'; i++) await delay(10);
  t.equal(state(zombie), 'Z', `pid ${zombie} is a zombie`);
  t.same(await liveGroupMembers(pgid), [pgid], 'only the sleep counts');
});

t.test('a stopped member ends on SIGTERM: SIGCONT follows it', async (t) => {
  const { pgid, lines } = await group(t, 'sleep 1000 & echo $!; echo ready; wait');
  const sleeper = Number(lines[0]);
  process.kill(sleeper, 'SIGSTOP');
  const r = await terminateGroup(pgid, { graceMs: 10_000 });
  t.same(r.termed.sort(), [pgid, sleeper].sort());
  t.same(r.killed, [], 'no SIGKILL needed');
  t.same(await liveGroupMembers(pgid), []);
});

t.test('members that ignore SIGTERM get SIGKILL after the grace', async (t) => {
  const { pgid } = await group(t, "trap '' TERM; sleep 1000 & echo ready; wait");
  const seen: string[] = [];
  const started = performance.now();
  const r = await terminateGroup(pgid, {
    graceMs: 200,
    onTerm: (pids) => seen.push(`term ${pids.length}`),
    onKill: (pids) => seen.push(`kill ${pids.length}`),
  });
  t.ok(performance.now() - started >= 200, 'SIGKILL waited for the grace');
  t.same(seen, ['term 2', 'kill 2']);
  t.same(r.survivors, []);
  t.same(await liveGroupMembers(pgid), []);
});

t.test('an empty group ends at once', async (t) => {
  const { child, pgid } = await group(t, 'echo ready');
  if (child.exitCode === null) await once(child, 'exit');
  t.same(await terminateGroup(pgid, { graceMs: 10_000 }), { termed: [], killed: [], survivors: [] });
  t.equal(signalGroup(pgid, 0), false);
});
