/**
 * Process groups: how the exec-shell kind makes sure nothing a step started outlives it (DistCI's
 * timeout killed `sh` but not its children).
 *
 * The step's shell is spawned detached, so it leads a new session and process group (pgid = its pid)
 * that every child, background job and subshell inherits. Ending a step means ending the group:
 * SIGTERM (and SIGCONT, so stopped members get it), then SIGKILL to whatever is left after a grace.
 *
 * No event says when the last member of a group is gone (members other than the shell are not our
 * children: they are reparented to PID 1 when the shell exits), so `terminateGroup` polls — on Linux
 * by reading `/proc`, where a zombie (dead, waiting for PID 1 to reap it) counts as gone: on this
 * machine's init that takes 1-2 s, and a zombie holds nothing but its pid. Elsewhere `kill(-pgid, 0)`.
 *
 * Not covered: a process that leaves the group itself (`setsid`, `setpgid`) escapes; only cgroups
 * could follow it. Members still alive when the worker process exits are SIGKILLed by an exit hook.
 */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** First poll after a signal: most groups are gone within a few ms of SIGTERM. */
const POLL_FIRST_MS = 10;
/** Polls back off to this: ~10 `/proc` scans a second during a long grace, a few ms of CPU each. */
const POLL_MAX_MS = 100;
/** SIGKILL cannot be caught; a member still alive this long after it is stuck in the kernel (D state). */
const AFTER_KILL_MS = 2000;

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Sends `signal` to every member of group `pgid`; false when the group has no member left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (errno(err) === 'ESRCH') return false;
    throw err;
  }
}

/**
 * The pids of the live members of group `pgid` (zombies excluded). Linux reads `/proc/<pid>/stat`;
 * elsewhere it can only tell whether the group has any member, and answers `[pgid]` if so.
 */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  if (process.platform !== 'linux') return signalGroup(pgid, 0) ? [pgid] : [];
  const live: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (Number(fields[2]) === pgid && state !== 'Z' && state !== 'X') live.push(Number(name));
  }
  return live;
}

export interface TerminateOptions {
  /** How long members get between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Called once with the members found when SIGTERM is sent (not called for an empty group). */
  onTerm?(pids: number[]): void;
  /** Called with the members that outlived the grace, just before SIGKILL. */
  onKill?(pids: number[]): void;
}

export interface TerminateResult {
  /** Members alive when SIGTERM was sent (empty: the group was already gone). */
  termed: number[];
  /** Members still alive after the grace, which got SIGKILL. */
  killed: number[];
  /** Members still alive after SIGKILL (stuck in the kernel); normally empty. */
  survivors: number[];
}

/** Polls until group `pgid` has no live member or `ms` pass; returns the members left. */
async function waitEmpty(pgid: number, ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let wait = POLL_FIRST_MS;
  for (;;) {
    const left = await liveGroupMembers(pgid);
    const remaining = until - Date.now();
    if (left.length === 0 || remaining <= 0) return left;
    await delay(Math.min(wait, remaining));
    wait = Math.min(wait * 2, POLL_MAX_MS);
  }
}

/**
 * Ends every process of group `pgid`: SIGTERM + SIGCONT, then SIGKILL to what is left after
 * `graceMs`. Resolves once no live member is left (or SIGKILL could not end one within 2 s).
 */
export async function terminateGroup(pgid: number, options: TerminateOptions): Promise<TerminateResult> {
  const termed = await liveGroupMembers(pgid);
  if (termed.length === 0) return { termed, killed: [], survivors: [] };
  options.onTerm?.(termed);
  signalGroup(pgid, 'SIGTERM');
  signalGroup(pgid, 'SIGCONT'); // a stopped process only acts on SIGTERM once continued
  const killed = await waitEmpty(pgid, options.graceMs);
  if (killed.length === 0) return { termed, killed, survivors: [] };
  options.onKill?.(killed);
  signalGroup(pgid, 'SIGKILL');
  return { termed, killed, survivors: await waitEmpty(pgid, AFTER_KILL_MS) };
}

/** Groups of running steps, SIGKILLed if the worker process exits while they run. */
const running = new Set<number>();
let hooked = false;
const killRunning = () => {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {}
  }
};

/**
 * Registers a step's group with the worker's exit hook (a detached group would otherwise outlive a
 * worker that exits mid-step); returns the function that unregisters it.
 */
export function trackGroup(pgid: number): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', killRunning);
  }
  running.add(pgid);
  return () => {
    running.delete(pgid);
  };
}
