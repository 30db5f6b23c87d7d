/**
 * Runs the real `distci` binary (`bin/distci.js`, as `npx distci` does) as a child process and follows
 * its output: tests wait for a line with a promise (`waitFor`), never with a sleep. A teardown kills
 * every process still alive, by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServices, uniqueName } from '@distci/testkit';
import type { Test } from 'tap';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const bin = join(repoRoot, 'packages', 'cli', 'bin', 'distci.js');

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (or stderr), already printed or to come. */
  waitFor(
    pattern: RegExp,
    what: string,
    options?: { timeoutMs?: number; stream?: 'stdout' | 'stderr' },
  ): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** An environment without the distci variables of the caller, plus `env`. */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DISTCI_')) base[k] = v;
  return { ...base, NO_COLOR: '1', ...env };
}

export function spawnCli(
  t: Test,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; bin?: string; input?: string } = {},
): CliProcess {
  const child = spawn(process.execPath, [options.bin ?? bin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: cliEnv(options.env),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  const out = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]!.setEncoding('utf8').on('data', (s: string) => {
      out[stream] += s;
      for (const w of [...waiters]) w();
    });
  }
  let closed = false;
  // 'close' comes after 'exit' once stdout and stderr have ended: all output is in by then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      closed = true;
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {}
    }
    await exited;
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    exited,
    kill: (signal) => process.kill(child.pid!, signal),
    waitFor(pattern, what, { timeoutMs = 120_000, stream = 'stdout' } = {}) {
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const check = () => {
          const m = out[stream].match(pattern);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          } else if (closed) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `distci ${args.join(' ')} ended before ${what}\nstdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-3000)}`,
              ),
            );
          }
        };
        timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `distci …` to its end; resolves with its exit code and output. */
export async function runCli(
  t: Test,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; bin?: string; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(t, args, options);
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** A temp dir removed in teardown. */
export async function tempDir(t: Test, prefix = 'distci-cli-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts `distci dev` on a free port (`--port 0`) with `dataDir`; resolves once it printed its URL and token. */
export async function startDev(
  t: Test,
  dataDir: string,
  extra: string[] = [],
): Promise<{ process: CliProcess; url: string; token: string }> {
  const p = spawnCli(t, ['dev', '--port', '0', '--data-dir', dataDir, ...extra]);
  const [, url] = await p.waitFor(/dashboard and API\s+(http:\/\/\S+)/, 'the URL of distci dev');
  const [, token] = await p.waitFor(/token\s+(\S+)/, 'the token of distci dev');
  return { process: p, url: url!, token: token! };
}

/**
 * The settings of a cluster on the test run's ZooKeeper and Ceph RGW: its own chroot and key prefix
 * (`name-…`), session timeout 4 s; `extra` adds or overrides (e.g. another bucket, no prefix).
 */
export function servicesEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  const { zk, s3 } = loadServices();
  return {
    DISTCI_ZK: `${zk.connect}/${uniqueName(name)}`,
    DISTCI_SESSION_TIMEOUT_MS: '4000',
    DISTCI_S3_ENDPOINT: s3.endpoint,
    DISTCI_S3_BUCKET: s3.bucket,
    DISTCI_S3_PREFIX: `${uniqueName(name)}/`,
    DISTCI_S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...extra,
  };
}
