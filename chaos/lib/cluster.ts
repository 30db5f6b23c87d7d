/**
 * The distci processes under attack: frontends (`distci frontend`, fixed ports so a restarted one comes
 * back at the same URL) and workers (`distci worker <kind>`), each its own OS process started through the
 * bench's spawner (`bench/lib/processes.ts`), output appended to a log file per process. Any of them can
 * be SIGKILLed and started again in its slot, or paused (SIGSTOP) and resumed.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@distci/testkit';
import { type BenchProcess, spawnDistci, stopProcesses } from '../../bench/lib/processes.js';

export const KINDS = ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const;
export type Kind = (typeof KINDS)[number];

const FRONTEND_READY = /frontend ready at (http:\/\/\S+)/;
const WORKER_READY = /ready: /;
/** 180 s: a restart on a 2-core machine other work keeps at load 20-30 (≈5-20 s when it is quieter). */
const READY_TIMEOUT_MS = 180_000;

export interface Slot {
  name: string;
  kind: Kind | 'frontend';
  proc: BenchProcess;
  /** Frontends: the port they keep across restarts. */
  port?: number;
  url?: string;
  paused: boolean;
}

export interface Cluster {
  frontends: Slot[];
  workers: Slot[];
  /** Kills a slot's process (SIGKILL) and waits until it is gone. */
  kill(slot: Slot): Promise<void>;
  /** Starts a slot's process again (after kill) and waits for its ready line. */
  start(slot: Slot): Promise<void>;
  pause(slot: Slot): void;
  resume(slot: Slot): void;
  /** URLs of the frontends currently up. */
  liveUrls(): string[];
  stop(): Promise<void>;
}

export interface ClusterInput {
  env: Record<string, string>;
  logDir: string;
  frontends: number;
  workers: Record<Kind, number>;
  concurrency: number;
}

export async function startCluster(input: ClusterInput): Promise<Cluster> {
  const spawnSlot = (slot: Omit<Slot, 'proc'> & { proc?: BenchProcess }): BenchProcess => {
    const args =
      slot.kind === 'frontend'
        ? ['frontend', '--port', String(slot.port), '--log-level', 'warn']
        : ['worker', slot.kind, '--concurrency', String(input.concurrency), '--grace-ms', '3000'];
    const env =
      slot.kind === 'frontend'
        ? input.env
        : { ...input.env, DISTCI_GIT_CACHE_DIR: join(input.logDir, `git-cache-${slot.name}`) };
    const proc = spawnDistci(slot.name, args, env);
    const file = createWriteStream(join(input.logDir, `${slot.name}.log`), { flags: 'a' });
    file.write(`--- pid ${proc.pid} started ${new Date().toISOString()}\n`);
    proc.child.stdout!.pipe(file, { end: false });
    proc.child.stderr!.pipe(file, { end: false });
    proc.child.once('exit', (code, signal) => file.end(`--- pid ${proc.pid} exited ${code ?? signal}\n`));
    return proc;
  };
  const frontends: Slot[] = [];
  for (let i = 0; i < input.frontends; i++) {
    const slot = { name: `frontend-${i + 1}`, kind: 'frontend' as const, port: await freePort(), paused: false };
    frontends.push({ ...slot, proc: spawnSlot(slot) });
  }
  const workers: Slot[] = [];
  for (const kind of KINDS) {
    for (let i = 0; i < input.workers[kind]; i++) {
      const slot = { name: `${kind}-${i + 1}`, kind, paused: false };
      workers.push({ ...slot, proc: spawnSlot(slot) });
    }
  }
  const ready = async (slot: Slot) => {
    if (slot.kind === 'frontend') slot.url = (await slot.proc.waitFor(FRONTEND_READY, READY_TIMEOUT_MS))[1]!;
    else await slot.proc.waitFor(WORKER_READY, READY_TIMEOUT_MS);
  };
  const all = () => [...frontends, ...workers];
  const cluster: Cluster = {
    frontends,
    workers,
    async kill(slot) {
      slot.paused = false;
      const { child } = slot.proc;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // SIGKILL only (no SIGTERM first): the process gets no chance to release its tickets.
      process.kill(slot.proc.pid, 'SIGKILL');
      await exited;
    },
    async start(slot) {
      slot.proc = spawnSlot(slot);
      await ready(slot);
    },
    pause(slot) {
      slot.paused = true;
      process.kill(slot.proc.pid, 'SIGSTOP');
    },
    resume(slot) {
      slot.paused = false;
      process.kill(slot.proc.pid, 'SIGCONT');
    },
    liveUrls: () =>
      frontends
        .filter((f) => f.url && f.proc.child.exitCode === null && f.proc.child.signalCode === null && !f.paused)
        .map((f) => f.url!),
    async stop() {
      for (const s of all()) {
        try {
          process.kill(s.proc.pid, 'SIGCONT');
        } catch {}
      }
      await stopProcesses(
        all().map((s) => s.proc),
        5000,
      );
    },
  };
  try {
    await Promise.all(all().map(ready));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
