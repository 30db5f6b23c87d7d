/**
 * The distci processes of a bench run — frontends and workers, each its own OS process started through
 * the `distci` binary (`distci frontend`, `distci worker <kind>`), and the bench's own fixtures — and
 * stopping every one of them by PID, also when the run fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, stopPids } from '@distci/testkit';

const DISTCI = join(repoRoot, 'packages', 'cli', 'bin', 'distci.js');
/** 60 s: tsx compiles the CLI on a cold start, several processes at once on 2 cores. */
const READY_TIMEOUT_MS = 60_000;

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it printed (stdout and stderr), for error messages. */
  tail(): string;
  /** Resolves when a line matches; rejects when the process exits first or after the timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Extra argv for `node` (e.g. `--cpu-prof`) it was started with. */
}

const started = new Set<BenchProcess>();

export interface SpawnInput {
  name: string;
  /** Arguments of `node`: a script and its args. */
  args: string[];
  env: Record<string, string>;
  nodeArgs?: string[];
  cwd?: string;
}

export function spawnNode({ name, args, env, nodeArgs = [], cwd }: SpawnInput): BenchProcess {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: cwd ?? repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let exited: string | null = null;
  const exitListeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.setEncoding('utf8').on('data', (s: string) => {
      const parts = (partial + s).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 40) lines.shift();
        for (const l of listeners) l(line);
      }
    });
  }
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
    for (const l of exitListeners) l();
  });
  const proc: BenchProcess = {
    name,
    pid: child.pid!,
    child,
    tail: () => lines.join('\n'),
    waitFor(pattern, timeoutMs = READY_TIMEOUT_MS) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          listeners.delete(onLine);
          exitListeners.delete(onExit);
        };
        const onLine = (line: string) => {
          const m = pattern.exec(line);
          if (m) {
            done();
            resolve(m);
          }
        };
        const onExit = () => {
          done();
          reject(new Error(`${name} (pid ${child.pid}) ${exited} before printing ${pattern}:\n${proc.tail()}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} (pid ${child.pid}) printed no ${pattern} within ${timeoutMs} ms:\n${proc.tail()}`));
        }, timeoutMs);
        for (const line of lines) {
          const m = pattern.exec(line);
          if (m) {
            done();
            resolve(m);
            return;
          }
        }
        listeners.add(onLine);
        exitListeners.add(onExit);
        if (exited) onExit();
      });
    },
  };
  started.add(proc);
  return proc;
}

/** `distci <args>` as its own process. */
export function spawnDistci(name: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []) {
  return spawnNode({ name, args: [DISTCI, ...args], env, nodeArgs });
}

/** A bench fixture (`bench/fixtures/<file>`) run through tsx with the source condition. */
export function spawnFixture(name: string, file: string, args: string[], env: Record<string, string>) {
  return spawnNode({
    name,
    args: [join(repoRoot, 'bench', 'fixtures', file), ...args],
    env,
    nodeArgs: ['--import', 'tsx', '--conditions=distci-source'],
  });
}

/** SIGTERM (then SIGKILL after `graceMs`) to these processes; waits until they are gone. */
export async function stopProcesses(procs: BenchProcess[], graceMs = 10_000): Promise<void> {
  const alive = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  await stopPids(
    alive.map((p) => p.pid),
    graceMs,
  );
  // Let 'exit' handlers run (a --cpu-prof file is written on exit).
  await sleep(10);
  for (const p of procs) started.delete(p);
}

/** Every process still running that this module started (for the final cleanup, even on failure). */
export async function stopAllProcesses(): Promise<void> {
  await stopProcesses([...started], 3000);
}
