/**
 * Starts the test run's ZooKeeper: one standalone server from Debian's `zookeeper` package on a free
 * 127.0.0.1 port, through the project's own `deploy/local/zk-start.sh`, and waits until it answers
 * `ruok` with `imok` (≈0.4 s after start on these machines).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ensureDebianPackages, freePort, isAlive, waitFor } from './processes.js';
import { repoRoot } from './services.js';

const script = join(repoRoot, 'deploy', 'local', 'zk-start.sh');

/**
 * 500 ms ticks: the server checks session expiry once a tick, so a dead client's ephemerals vanish between
 * the session timeout and timeout + 0.5 s, and the 2 s sessions of the session-loss tests are 4 ticks.
 * minSessionTimeout=1000 lets tests ask for 1-2 s sessions; maxSessionTimeout=60000 keeps the default 10 s
 * one (20 ticks would cap it at exactly 10 s).
 */
const TICK_MS = 500;
/** 30 s: a cold JVM on a busy 2-core machine; it normally answers within 1 s. */
const READY_TIMEOUT_MS = 30_000;

export async function startZooKeeper({ dir }: { dir: string }): Promise<{ connect: string; pid: number }> {
  ensureDebianPackages('/usr/share/java/zookeeper.jar', ['zookeeper']);
  const port = await freePort();
  mkdirSync(join(dir, 'conf'), { recursive: true });
  writeFileSync(
    join(dir, 'conf', 'zoo.cfg'),
    [
      `tickTime=${TICK_MS}`,
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,stat,srvr,mntr,cons,dump',
      'minSessionTimeout=1000',
      'maxSessionTimeout=60000',
      'forceSync=no',
      '',
    ].join('\n'),
  );
  const pid = Number(execFileSync('bash', [script, dir, String(port)], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${script} printed no PID`);
  // waitFor swallows a probe's exceptions, so a dead server ends the wait through this flag instead.
  let died = false;
  try {
    await waitFor(
      `ZooKeeper on 127.0.0.1:${port} to answer ruok`,
      async () => {
        died = !isAlive(pid);
        return died || (await fourLetterWord(port, 'ruok')) === 'imok';
      },
      READY_TIMEOUT_MS,
    );
  } catch (err) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    throw new Error(`${(err as Error).message}; the server's log ends with:\n${tail(dir)}`);
  }
  if (died) throw new Error(`ZooKeeper (pid ${pid}) exited during start-up; its log ends with:\n${tail(dir)}`);
  return { connect: `127.0.0.1:${port}`, pid };
}

/** Sends a four-letter word and returns the whole answer (bash has no `nc` here; a socket will do). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function tail(dir: string): string {
  for (const file of [join(dir, 'logs', 'zookeeper.log'), join(dir, 'logs', 'stdout.log')]) {
    if (existsSync(file)) return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  }
  return '(no log)';
}
