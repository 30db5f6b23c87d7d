/**
 * The chaos suite's 3-node ZooKeeper ensemble, started by the project's own scripts
 * (`chaos/zk-ensemble.sh` for the configs, `deploy/local/zk-start.sh` per server). Each server runs in a
 * network namespace of its own (`chaos/netns.sh`), so one can be partitioned for real (its link taken
 * down: packets silently dropped); where namespaces cannot be made (not root), the servers share the
 * loopback and a "partition" is a SIGSTOP of the follower instead — the report says which.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ensureDebianPackages, isAlive, repoRoot, waitFor } from '@distci/testkit';

const ZK_START = join(repoRoot, 'deploy', 'local', 'zk-start.sh');
const ENSEMBLE = join(repoRoot, 'chaos', 'zk-ensemble.sh');
const NETNS = join(repoRoot, 'chaos', 'netns.sh');
/** 60 s: three cold JVMs electing a leader on a busy 2-core machine (≈2 s when idle). */
const READY_TIMEOUT_MS = 60_000;
/** Loopback ports when the servers share 127.0.0.1 (the recipe's; namespaced servers use 2181/2888/3888). */
const LOOPBACK = [1, 2, 3].map((i) => ({ host: '127.0.0.1', client: 22190 + i, peer: 22880 + i, election: 23880 + i }));

export interface ZkServer {
  id: number;
  host: string;
  port: number;
  dir: string;
  pid: number;
}

export interface Ensemble {
  /** `host:port,host:port,host:port` (no chroot). */
  connect: string;
  /** `netns`: a partition drops packets; `sigstop`: a partition is a paused server. */
  partitionMode: 'netns' | 'sigstop';
  servers: ZkServer[];
  pids(): number[];
  /** The server that says `Mode: leader`, waiting (bounded) for an election to end. */
  leader(timeoutMs?: number): Promise<ZkServer>;
  /** A server that says `Mode: follower`. */
  follower(timeoutMs?: number): Promise<ZkServer>;
  kill(server: ZkServer): void;
  /** Starts a stopped server again (same data dir: it rejoins and syncs). */
  restart(server: ZkServer): Promise<void>;
  partition(server: ZkServer): void;
  heal(server: ZkServer): void;
  /** Every server answers `srvr` with a mode, and one is the leader. */
  waitQuorum(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Sends a four-letter word to host:port and returns the answer ('' when nothing answers in time). */
export function fourLetter(host: string, port: number, word: string, timeoutMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('connect', () => socket.end(word));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function mode(server: ZkServer): Promise<string | null> {
  const srvr = await fourLetter(server.host, server.port, 'srvr');
  return /Mode: (\w+)/.exec(srvr)?.[1] ?? null;
}

function namespacesWork(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('bash', [NETNS, 'up', '3'], { stdio: 'pipe' });
    return true;
  } catch (err) {
    console.error(`# network namespaces unavailable (${(err as Error).message.split('\n')[0]}): SIGSTOP instead`);
    try {
      execFileSync('bash', [NETNS, 'down'], { stdio: 'pipe' });
    } catch {}
    return false;
  }
}

export async function startEnsemble(dir: string, log: (line: string) => void): Promise<Ensemble> {
  ensureDebianPackages('/usr/share/java/zookeeper.jar', ['zookeeper']);
  const netns = process.env.CHAOS_NO_NETNS ? false : namespacesWork();
  const specs = netns
    ? [1, 2, 3].map((i) => ({
        host: execFileSync('bash', [NETNS, 'ip', String(i)], { encoding: 'utf8' }).trim(),
        client: 2181,
        peer: 2888,
        election: 3888,
      }))
    : LOOPBACK;
  execFileSync('bash', [ENSEMBLE, dir, ...specs.map((s) => `${s.host}:${s.client}:${s.peer}:${s.election}`)], {
    stdio: 'pipe',
  });
  const servers: ZkServer[] = specs.map((s, i) => ({
    id: i + 1,
    host: s.host,
    port: s.client,
    dir: join(dir, `n${i + 1}`),
    pid: 0,
  }));
  const stopped = new Set<number>();
  const launch = (server: ZkServer) => {
    const cmd = netns ? ['ip', 'netns', 'exec', `dch-h${server.id}`, 'bash'] : ['bash'];
    const out = execFileSync(cmd[0]!, [...cmd.slice(1), ZK_START, server.dir, String(server.port)], {
      encoding: 'utf8',
      // 1 s between election notifications (default 60 s backoff): a healed follower rejoins at once.
      env: { ...process.env, JAVA_TOOL_OPTIONS: '-Dzookeeper.fastleader.maxNotificationInterval=1000' },
    });
    server.pid = Number(out.trim().split('\n').pop());
    if (!Number.isInteger(server.pid) || server.pid <= 0) throw new Error(`${ZK_START} printed no PID`);
  };
  const find = async (want: string, timeoutMs: number) => {
    let found: ZkServer | null = null;
    await waitFor(
      `a ZooKeeper ${want}`,
      async () => {
        for (const s of servers) {
          if (stopped.has(s.id) || !isAlive(s.pid)) continue;
          if ((await mode(s)) === want) {
            found = s;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
    );
    return found!;
  };
  const ensemble: Ensemble = {
    connect: servers.map((s) => `${s.host}:${s.port}`).join(','),
    partitionMode: netns ? 'netns' : 'sigstop',
    servers,
    pids: () => servers.map((s) => s.pid).filter((p) => p > 0),
    leader: (timeoutMs = 30_000) => find('leader', timeoutMs),
    follower: (timeoutMs = 30_000) => find('follower', timeoutMs),
    kill(server) {
      stopped.add(server.id);
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {}
    },
    async restart(server) {
      launch(server);
      stopped.delete(server.id);
      await waitFor(`ZooKeeper ${server.id} to rejoin`, async () => (await mode(server)) !== null, READY_TIMEOUT_MS);
    },
    partition(server) {
      if (netns) execFileSync('bash', [NETNS, 'partition', String(server.id)]);
      else process.kill(server.pid, 'SIGSTOP');
    },
    heal(server) {
      if (netns) execFileSync('bash', [NETNS, 'heal', String(server.id)]);
      else process.kill(server.pid, 'SIGCONT');
    },
    async waitQuorum(timeoutMs = READY_TIMEOUT_MS) {
      await waitFor(
        'every ZooKeeper server in the quorum',
        async () => {
          const modes = await Promise.all(servers.map(mode));
          return modes.every((m) => m === 'leader' || m === 'follower') && modes.includes('leader');
        },
        timeoutMs,
      );
    },
    async stop() {
      for (const s of servers) {
        if (s.pid > 0 && isAlive(s.pid)) {
          try {
            process.kill(s.pid, 'SIGCONT');
            process.kill(s.pid, 'SIGKILL');
          } catch {}
        }
      }
      if (netns) {
        try {
          execFileSync('bash', [NETNS, 'down'], { stdio: 'pipe' });
        } catch {}
      }
    },
  };
  try {
    for (const s of servers) launch(s);
    await ensemble.waitQuorum();
  } catch (err) {
    await ensemble.stop();
    throw err;
  }
  log(
    `ZooKeeper ensemble ${ensemble.connect} (${netns ? 'one network namespace per server' : 'loopback, partitions by SIGSTOP'}), pids ${ensemble.pids().join(',')}`,
  );
  return ensemble;
}
