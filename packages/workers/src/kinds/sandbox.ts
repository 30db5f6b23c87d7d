/**
 * The exec-shell sandbox: each step runs inside Debian's bubblewrap (`bwrap`), so a build script
 * cannot see or touch the worker that runs it.
 *
 * What the step sees (`bwrapArgs`):
 * - the system read-only: `/usr`, the `/bin` `/sbin` `/lib*` links or dirs, `/etc` (with the worker's
 *   own settings hidden: `/etc/distci`, and any path a `DISTCI_*` / `AWS_*` variable of the worker names
 *   that lies under a mounted tree — e.g. a tokens file — is covered by an empty tmpfs or /dev/null);
 * - its workspace read-write at the same path (also the cwd), its script read-only, a private `/tmp`
 *   and `/var/tmp`, an empty home (`STEP_HOME`), a minimal `/dev`, and a `/proc` of its own;
 * - nothing else: not the worker's data dir (its API token, its embedded store), not the git cache,
 *   not the worker's code, home or working directory, not `/run`, `/var`, `/opt`, `/srv`, `/home`.
 *
 * Namespaces: its own PID namespace (`--unshare-pid`: the step's `/proc` lists only its own
 * processes, so the worker's environment and command line are out of reach), IPC and UTS. The network
 * is kept: steps fetch dependencies and talk to local test servers. `--new-session` puts the script
 * in a session of its own (no TIOCSTI into the worker's terminal) whose process group is the sandbox's
 * init (bwrap's PID 1, reported on `--info-fd`): the exec-shell kind signals that group to stop a step.
 * `--die-with-parent`: if the worker dies (even SIGKILL), the kernel SIGKILLs the sandbox's init, and
 * with it every process of the PID namespace — nothing of a step outlives its worker.
 *
 * Root: bubblewrap run by root keeps every capability inside the sandbox (it only makes a user
 * namespace when run unprivileged), which would let a step mount a disk or load a module. Tried on this
 * machine (root, kernel 6.18, bwrap 0.8.0): `--cap-drop ALL` leaves the step's shell with no
 * capability (`CapEff` 0, `mount` refused), and the same flags work unprivileged (then bwrap makes a
 * user namespace itself; `--cap-drop` drops what it would hold there). So the flags are the same for
 * both, and `detectSandbox` runs them once (`bwrap … true`) before a worker trusts them.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve, sep } from 'node:path';
import { ISOLATION_MODES as COMMON_ISOLATION_MODES, distciError } from '@distci/common';

/** Where the step's (empty, private) home is inside the sandbox. */
export const STEP_HOME = '/home/step';
/** Trees of the host mounted read-only into every sandbox. */
const SYSTEM_DIRS = ['/usr', '/etc'];
/** Merged-/usr links on Debian ≥ 12 (`/bin -> usr/bin`), real directories on older systems. */
const SYSTEM_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** Always hidden: the deploy's settings and credentials (`deploy/systemd`: `/etc/distci/distci.env`). */
const ALWAYS_HIDDEN = ['/etc/distci'];

/** The flags of every sandbox: namespaces, process handling, capabilities (see the module comment). */
const BASE_FLAGS = [
  '--unshare-pid',
  '--unshare-ipc',
  '--unshare-uts',
  '--unshare-cgroup-try',
  '--die-with-parent',
  '--new-session',
  '--cap-drop',
  'ALL',
];

/** The option table's modes (`@distci/common` option-table.ts): one list. */
export const ISOLATION_MODES = COMMON_ISOLATION_MODES;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

/** A bubblewrap that works on this host. */
export interface Sandbox {
  /** The bwrap binary. */
  readonly bwrap: string;
  /** bwrap's arguments to run `command` in `workspace` (then `--`, then the command). */
  args(input: { workspace: string; readOnly: readonly string[]; command: readonly string[] }): string[];
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/**
 * Paths of the worker to hide inside a sandbox: `/etc/distci`, and every existing absolute path a
 * `DISTCI_*` or `AWS_*` variable names (tokens files, credentials files, data and cache dirs) — only
 * those under a mounted tree need covering, the rest is not mounted at all.
 */
export function hiddenPaths(env: Record<string, string | undefined> = process.env): string[] {
  const candidates = [...ALWAYS_HIDDEN];
  for (const [name, value] of Object.entries(env)) {
    if (!value || !(name.startsWith('DISTCI_') || name.startsWith('AWS_'))) continue;
    if (isAbsolute(value)) candidates.push(value);
  }
  const mounted = [...SYSTEM_DIRS, ...SYSTEM_LINKS].filter((d) => existsSync(d)).map((d) => realpathSync(d));
  const hidden = new Set<string>();
  for (const c of candidates) {
    let real: string;
    try {
      real = realpathSync(resolve(c));
    } catch {
      continue; // does not exist: nothing to hide
    }
    if (mounted.some((m) => under(real, m))) hidden.add(real);
  }
  return [...hidden].sort();
}

/** The host part of every sandbox's arguments, computed once per worker (the host does not change). */
function hostArgs(env: Record<string, string | undefined>): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) if (existsSync(dir)) args.push('--ro-bind', dir, dir);
  for (const link of SYSTEM_LINKS) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(link);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(link), link);
    else if (st.isDirectory()) args.push('--ro-bind', link, link);
  }
  // /etc/resolv.conf is often a link into /run (systemd-resolved), which is not mounted: bind its target.
  try {
    const resolv = realpathSync('/etc/resolv.conf');
    if (!SYSTEM_DIRS.some((d) => under(resolv, d))) args.push('--ro-bind', resolv, resolv);
  } catch {}
  for (const path of hiddenPaths(env)) {
    if (statSync(path).isDirectory()) args.push('--tmpfs', path);
    else args.push('--ro-bind', '/dev/null', path);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--dir', STEP_HOME);
  return args;
}

export function createSandbox(bwrap: string, env: Record<string, string | undefined> = process.env): Sandbox {
  const host = hostArgs(env);
  return {
    bwrap,
    args({ workspace, readOnly, command }) {
      const args = [...BASE_FLAGS, ...host, '--bind', workspace, workspace];
      for (const path of readOnly) args.push('--ro-bind', path, path);
      args.push('--chdir', workspace, '--', ...command);
      return args;
    },
  };
}

export type SandboxCheck = { ok: true; sandbox: Sandbox } | { ok: false; why: string };

const checks = new Map<string, Promise<SandboxCheck>>();

/** `name` looked up on the worker's PATH (a path with a slash is taken as it is); null if not there. */
function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  const candidates = name.includes('/')
    ? [resolve(name)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {}
  }
  return null;
}

/**
 * Whether bubblewrap works here with the sandbox's flags: finds `bwrap` on the worker's PATH and runs
 * `bwrap <flags> -- true` once per binary (cached for the process), 10 s at most (it takes ~5 ms).
 */
export function detectSandbox(bwrap = 'bwrap'): Promise<SandboxCheck> {
  let check = checks.get(bwrap);
  if (!check) {
    check = new Promise<SandboxCheck>((done) => {
      // Found once on the worker's own PATH: steps get another PATH, and bwrap is spawned by this path.
      const file = findExecutable(bwrap);
      if (!file) {
        done({ ok: false, why: `${bwrap} is not installed (not found on PATH)` });
        return;
      }
      let sandbox: Sandbox;
      try {
        sandbox = createSandbox(file);
      } catch (err) {
        done({ ok: false, why: (err as Error).message });
        return;
      }
      const args = sandbox.args({ workspace: '/tmp', readOnly: [], command: ['true'] });
      execFile(bwrap, args, { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } }, (err, _stdout, stderr) => {
        if (!err) done({ ok: true, sandbox });
        else if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          done({ ok: false, why: `${bwrap} is not installed` });
        else done({ ok: false, why: `${bwrap} does not work here: ${stderr.trim() || err.message}` });
      });
    });
    checks.set(bwrap, check);
  }
  return check;
}

export interface ResolvedIsolation {
  /** The sandbox steps run in; null: steps run as plain processes of the worker. */
  sandbox: Sandbox | null;
  /** Set when `auto` found no working bubblewrap: say it once, clearly. */
  warning?: string;
}

/**
 * Turns a worker's `isolation` option into a sandbox: `bwrap` needs a working bubblewrap
 * (`DISTCI_NO_SANDBOX` otherwise), `none` runs steps unisolated, `auto` (the default of `distci dev`)
 * takes bubblewrap when it works and warns otherwise.
 */
export async function resolveIsolation(mode: IsolationMode, bwrap = 'bwrap'): Promise<ResolvedIsolation> {
  if (mode === 'none') return { sandbox: null };
  const check = await detectSandbox(bwrap);
  if (check.ok) return { sandbox: check.sandbox };
  if (mode === 'auto') {
    return {
      sandbox: null,
      warning: `steps are NOT isolated from this worker (${check.why}): a build script can read the worker's environment, files and data dir (API token). Install bubblewrap (apt-get install bubblewrap) to isolate them.`,
    };
  }
  throw distciError('DISTCI_NO_SANDBOX', `exec-shell steps cannot be isolated: ${check.why}`, {
    hint: 'install bubblewrap (apt-get install bubblewrap), or start the worker with --isolation none (DISTCI_ISOLATION=none) to run steps unisolated',
  });
}
