/**
 * Spawns `fixtures/test-worker.ts` processes and follows their stdout: every JSON line they print is
 * kept, in order, and tests wait for a line with a promise (`waitFor`), never with a sleep. A teardown
 * kills every process still alive by PID (SIGCONT first, in case a test left it stopped).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import type { WorkerEvent } from '../../src/index.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'test-worker.ts');

/** A line a worker process printed: a `WorkerEvent`, or one of the fixture's own (`fixture` set). */
export type WorkerLine = Partial<WorkerEvent> & {
  fixture?: 'ready' | 'state' | 'handler-done' | 'exit';
  state?: string;
  sessionId?: string | null;
  worker: string;
  at: number;
  /** When this process received the line. */
  seenAt: number;
};

export interface WorkerProcessOptions {
  connect: string;
  chroot: string;
  sessionMs: number;
  kind?: string;
  labels?: readonly string[];
  concurrency?: number;
  graceMs?: number;
  sweepMs?: number;
}

export interface WorkerProcess {
  readonly id: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly lines: WorkerLine[];
  /** Resolves with the first line (already printed or to come) matching `match`; rejects at `timeoutMs` or exit. */
  waitFor(match: (line: WorkerLine) => boolean, what: string, timeoutMs?: number): Promise<WorkerLine>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** Calls `listener` with every line from now on; returns the unsubscribe function. */
  onLine(listener: (line: WorkerLine) => void): () => void;
}

let counter = 0;

export function spawnWorker(t: Test, options: WorkerProcessOptions): WorkerProcess {
  const id = `w${++counter}-${process.pid}-${Date.now().toString(36)}`;
  const args = [
    '--import',
    'tsx',
    '--conditions=distci-source',
    fixture,
    `--connect=${options.connect}`,
    `--chroot=${options.chroot}`,
    `--session-ms=${options.sessionMs}`,
    `--kind=${options.kind ?? 'exec-shell'}`,
    `--labels=${(options.labels ?? []).join(',')}`,
    `--concurrency=${options.concurrency ?? 1}`,
    `--grace-ms=${options.graceMs ?? 1000}`,
    `--sweep-ms=${options.sweepMs ?? 30000}`,
    `--worker-id=${id}`,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: WorkerLine[] = [];
  const waiters = new Set<{ match: (l: WorkerLine) => boolean; resolve: (l: WorkerLine) => void }>();
  const listeners = new Set<(line: WorkerLine) => void>();
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: WorkerLine;
    try {
      line = { ...JSON.parse(text), seenAt: Date.now() };
    } catch {
      return;
    }
    lines.push(line);
    for (const l of [...listeners]) l(line);
    for (const w of [...waiters]) {
      if (w.match(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  t.teardown(() => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid!, 'SIGCONT');
      process.kill(child.pid!, 'SIGKILL');
    } catch {}
    return exited.then(() => {});
  });

  return {
    id,
    pid: child.pid!,
    child,
    lines,
    exited,
    kill: (signal) => process.kill(child.pid!, signal),
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitFor(match, what, timeoutMs = 30_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (l: WorkerLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const fail = (why: string) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          const recent = lines.slice(-15).map(({ seenAt, ...l }) => JSON.stringify(l));
          reject(
            new Error(
              `worker ${id}: ${why} waiting for ${what}; its last lines:\n${recent.join('\n')}\nstderr:\n${stderr.slice(-2000)}`,
            ),
          );
        };
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        // A waiter that lost a race (waitForAny) must not keep the test process alive.
        timer.unref();
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (waiters.has(waiter)) fail(`exited (code ${code}, signal ${signal})`);
        });
      });
    },
  };
}

/** Spawns `n` workers and waits until each has a session and runs. */
export async function spawnWorkers(t: Test, n: number, options: WorkerProcessOptions): Promise<WorkerProcess[]> {
  const workers = Array.from({ length: n }, () => spawnWorker(t, options));
  await Promise.all(workers.map((w) => w.waitFor((l) => l.fixture === 'ready', 'ready', 60_000)));
  return workers;
}

/** Every line of every worker, oldest first. */
export function allLines(workers: readonly WorkerProcess[]): WorkerLine[] {
  return workers.flatMap((w) => w.lines).sort((a, b) => a.seenAt - b.seenAt);
}

/** Resolves with the first line of any of `workers` matching `match`. */
export function waitForAny(
  workers: readonly WorkerProcess[],
  match: (line: WorkerLine) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<WorkerLine> {
  return new Promise((resolve, reject) => {
    let pending = workers.length;
    const errors: string[] = [];
    for (const w of workers) {
      w.waitFor(match, what, timeoutMs).then(resolve, (err: Error) => {
        errors.push(err.message);
        if (--pending === 0) reject(new Error(errors.join('\n')));
      });
    }
  });
}

/**
 * Resolves when `check()` holds, evaluated now and after every line of any of `workers`; rejects after
 * `timeoutMs` with `what` and what `check` last said.
 */
export function waitUntil(
  workers: readonly WorkerProcess[],
  check: () => boolean,
  what: string | (() => string),
  timeoutMs = 60_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const offs: Array<() => void> = [];
    const done = () => {
      clearTimeout(timer);
      for (const off of offs) off();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`));
    }, timeoutMs);
    for (const w of workers) {
      offs.push(
        w.onLine(() => {
          if (check()) {
            done();
            resolve();
          }
        }),
      );
    }
  });
}
