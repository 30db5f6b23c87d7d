/**
 * The exec-shell step kind: runs a step's `run` script with `sh -e` in the restored workspace.
 *
 * - The script is written to a private temp file outside the workspace and run as `sh -e <file>`,
 *   not `sh -c <script>`: a script may be 64 Ki characters (the schema's limit), up to 192 KiB of
 *   UTF-8, and Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN); a file also keeps the
 *   script out of `ps`. The file never enters the workspace archive.
 * - Environment: only `INHERITED_ENV` comes from the worker (the worker's own environment holds its
 *   storage credentials and options, which a build script must not see), then the step's env
 *   (`ctx.env`: job env, step env, matrix values, DISTCI_*) on top.
 * - The shell leads its own process group (detached); stdin is /dev/null. stdout and stderr go to the
 *   step's log as they arrive, as raw bytes (the log writer keeps UTF-8 characters whole), through the
 *   secret masker when the step has secrets (each value and its encoded forms, `secret-forms.ts`). A log the object store cannot keep up with pauses the
 *   output (the script blocks on its pipe) instead of filling the worker's memory.
 * - When the shell exits, or the step's signal aborts (cancel, timeout, session loss, drain), the whole
 *   process group is ended (`terminateGroup`: SIGTERM, SIGKILL after `KILL_GRACE_MS`), and the kind
 *   returns only once no process of the step is left: nothing outlives the step, and the workspace is
 *   archived after its last writer is gone.
 * - Isolation (`options.sandbox`, `sandbox.ts`): the shell runs inside bubblewrap, which sees only
 *   the system read-only, the workspace, the script, a private /tmp and an empty home (`STEP_HOME`, also
 *   `$HOME`; `$TMPDIR` is /tmp), in its own PID namespace. The process group to signal is then the
 *   sandbox's (its init's pid, read from bwrap's `--info-fd`), and ending it ends the namespace: when the
 *   shell exits, or dies of the stop's SIGTERM, the kernel SIGKILLs whatever else still runs in it
 *   (processes left behind get no SIGTERM grace inside a sandbox; a `setsid` cannot escape either).
 * - The log ends with a `[distci]` line saying how the script ended. Exit code 0 is success; anything
 *   else is a failure with reason `exit-code` (a death by signal N reports 128+N, as sh's `$?` would).
 *   The step handler turns a stop into `timeout` / `cancelled` from `ctx.stopReason()`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { StepContext, StepKind, StepRunResult } from '../steps/step-handler.js';
import { workRoot } from '../steps/work-dirs.js';
import { pumpOutput } from './output-pump.js';
import { signalGroup, terminateGroup, trackGroup } from './process-group.js';
import { type Sandbox, STEP_HOME } from './sandbox.js';
import { maskedForms } from './secret-forms.js';
import { createStepOutput } from './step-output.js';

/**
 * 5 s between SIGTERM and SIGKILL: enough for a test runner or build tool to stop its children and
 * flush its output; half of Docker's `stop` default (10 s), because a step is stopped by a timeout or a
 * cancel, where waiting longer helps nobody, and a draining worker should release its tickets soon.
 */
export const KILL_GRACE_MS = 5000;
/**
 * 2 s of reading for the output pipes to close once the group is gone: what is left in them (64 KiB
 * each at most) takes well under a millisecond to read, so a pipe still open is held by a process that
 * left the group (setsid), and we close our end.
 */
const OUTPUT_CLOSE_MS = 2000;

/**
 * What a step inherits from the worker's environment: enough for tools to find themselves (PATH), a
 * home and the user's name, the locale and time zone, and where temp files go. `LC_*` is a prefix.
 */
export const INHERITED_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
];
/** The PATH a step gets when the worker has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecShellOptions {
  /** The shell (default `sh`). */
  shell?: string;
  /** Milliseconds between SIGTERM and SIGKILL (default `KILL_GRACE_MS`). */
  killGraceMs?: number;
  /** Names (a trailing `*` is a prefix) inherited from the worker's environment (default `INHERITED_ENV`). */
  inheritEnv?: readonly string[];
  /** The strings to mask in the step's log (default: every form `maskedForms` gives of `ctx.secrets`). */
  secrets?(ctx: StepContext): readonly string[];
  /** Where the script's temp file goes (default the OS temp dir). */
  scriptDir?: string;
  /** The sandbox steps run in (`resolveIsolation`); null or absent: steps run unisolated. */
  sandbox?: Sandbox | null;
}

/** The step's environment: the inherited part of `from`, then the step's own env. */
export function shellEnv(
  step: Record<string, string>,
  from: NodeJS.ProcessEnv = process.env,
  inherit: readonly string[] = INHERITED_ENV,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (inherit.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p))) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  return { ...env, ...step };
}

/** What `$?` says of a shell that ended with `code` or died of `signal`. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return n === undefined ? null : 128 + n;
}

/** The host pid of a sandbox's init, from bwrap's `--info-fd` JSON; null if bwrap wrote none. */
async function sandboxInit(info: Readable | undefined, bwrapPid: number | undefined): Promise<number | null> {
  if (!info || bwrapPid === undefined) return null;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of info) chunks.push(chunk as Buffer);
  } catch {
    return null;
  }
  let pid: unknown;
  try {
    pid = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)['child-pid'];
  } catch {
    return null;
  }
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1 ? pid : null;
}

export function createExecShellKind(options: ExecShellOptions = {}): StepKind {
  const shell = options.shell ?? 'sh';
  const graceMs = options.killGraceMs ?? KILL_GRACE_MS;
  const sandbox = options.sandbox ?? null;

  async function run(ctx: StepContext): Promise<StepRunResult> {
    if (ctx.config.type !== 'exec-shell') {
      return {
        status: 'failure',
        reason: 'infrastructure',
        message: `the exec-shell worker got a ${ctx.config.type} step`,
        workspace: 'unchanged',
      };
    }
    if (ctx.signal.aborted) return { status: 'failure', workspace: 'unchanged' };
    const masked = options.secrets?.(ctx) ?? maskedForms(Object.values(ctx.secrets ?? {}));
    const out = createStepOutput(ctx.log, masked);
    const scriptDir = await mkdtemp(join(options.scriptDir ?? (await workRoot()), 'distci-sh-'));
    try {
      const script = join(scriptDir, 'run.sh');
      await writeFile(script, ctx.config.run, { mode: 0o600 });
      const startedAt = performance.now();
      const command = [shell, '-e', script];
      // In a sandbox: an empty home and the private /tmp, unless the job sets its own.
      const env = shellEnv(
        sandbox ? { HOME: STEP_HOME, TMPDIR: '/tmp', ...ctx.env } : ctx.env,
        process.env,
        options.inheritEnv,
      );
      const [file, args] = sandbox
        ? [sandbox.bwrap, ['--info-fd', '3', ...sandbox.args({ workspace: ctx.dir, readOnly: [script], command })]]
        : [shell, command.slice(1)];
      const child = execa(file, args, {
        cwd: ctx.dir,
        env,
        extendEnv: false,
        detached: true,
        stdio: sandbox ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
        buffer: false,
        encoding: 'buffer',
        reject: false,
        cleanup: false,
        forceKillAfterDelay: false,
      });
      // Without a sandbox the shell leads the group; in one, bwrap does (and dying, ends the sandbox).
      const pgid = child.pid;
      const untrack = pgid === undefined ? () => {} : trackGroup(pgid);
      // The sandbox's init leads the group of every process inside (`--new-session`).
      const init = sandbox ? sandboxInit(child.stdio[3] as Readable | undefined, child.pid) : Promise.resolve(null);

      const pump = pumpOutput([child.stdout, child.stderr] as Readable[], out);

      // The shell's end: its exit, or its failure to start (then no 'exit' event comes).
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        void child.then((r) => {
          const error = r.exitCode === undefined && r.signal === undefined ? r.shortMessage : undefined;
          resolve({ code: r.exitCode ?? null, signal: (r.signal as NodeJS.Signals | undefined) ?? null, error });
        });
      });

      // Ending the group: started by an abort or by the shell's exit, whichever comes first.
      let ending: Promise<unknown> | null = null;
      const terminate = (group: number, noteLeftovers: boolean) =>
        terminateGroup(group, {
          graceMs,
          onTerm(pids) {
            if (ctx.signal.aborted || !noteLeftovers) return; // the stop was noted already
            out.note(`the script left ${pids.length} process(es) running (pids ${pids.join(', ')}): SIGTERM`);
          },
          onKill(pids) {
            out.note(
              `SIGKILL to ${pids.length} process(es) still running ${graceMs / 1000} s after SIGTERM (pids ${pids.join(', ')})`,
            );
          },
        }).then((r) => {
          if (r.survivors.length) out.note(`pids ${r.survivors.join(', ')} survived SIGKILL (stuck in the kernel?)`);
        });
      const endSandbox = async () => {
        const pid1 = await init;
        if (pid1 === null) {
          // bwrap wrote no init pid (it failed to set up, or is gone): killing bwrap ends its sandbox.
          if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
          return;
        }
        // A stop: SIGTERM to every process in the sandbox, SIGKILL after the grace. A shell that exited:
        // the sandbox is ending already (see the module comment); wait for it, quietly. The group holds
        // the init, which ignores SIGTERM and goes only with the namespace: once the group is empty, so
        // is the namespace, processes that left the group inside (setsid) included.
        await terminate(pid1, false);
      };
      const endGroup = (): Promise<unknown> => {
        if (pgid === undefined) return Promise.resolve();
        ending ??= sandbox ? endSandbox() : terminate(pgid, true);
        return ending;
      };
      const onAbort = () => {
        const why = ctx.stopReason() ?? String(ctx.signal.reason ?? 'stop');
        out.note(`stopping the step (${why}): SIGTERM to its processes, SIGKILL after ${graceMs / 1000} s`);
        void endGroup();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (ctx.signal.aborted) onAbort(); // stopped while the script was being written: no event comes

      let end: Awaited<typeof exited>;
      try {
        end = await exited;
        await endGroup();
        // Every process of the step is gone: read what is left in the pipes (see OUTPUT_CLOSE_MS).
        if (!(await pump.closed(OUTPUT_CLOSE_MS))) {
          out.note('the output is still open by a process outside the step (setsid?): closing it');
        }
        await child;
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        untrack();
      }

      const seconds = ((performance.now() - startedAt) / 1000).toFixed(3);
      if (end.error) {
        out.note(`could not start ${shell}: ${end.error}`);
        return { status: 'failure', reason: 'infrastructure', message: end.error, workspace: 'unchanged' };
      }
      const exitCode = exitCodeOf(end.code, end.signal);
      out.note(
        end.signal
          ? `${shell} was killed by ${end.signal} (exit code ${exitCode}) after ${seconds} s`
          : `exit code ${exitCode} after ${seconds} s`,
      );
      if (exitCode === 0) return { status: 'success', exitCode, workspace: 'changed' };
      return {
        status: 'failure',
        exitCode,
        reason: 'exit-code',
        message: end.signal ? `the script was killed by ${end.signal}` : `the script exited with code ${exitCode}`,
        workspace: 'changed',
      };
    } finally {
      out.end();
      await rm(scriptDir, { recursive: true, force: true });
    }
  }

  return { kind: 'exec-shell', restoresWorkspace: true, run };
}

/** The exec-shell kind with the default options. */
export const execShellKind: StepKind = createExecShellKind();
