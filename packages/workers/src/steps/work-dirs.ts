/**
 * Where a worker process makes its temp dirs (step workspaces `distci-ws-*`, exec-shell scripts
 * `distci-sh-*`): under one root per process, `<temp dir>/distci-work-<pid>-<random>` (mode 0700). The
 * step handler removes each dir when its step ends, but a killed worker (SIGKILL, OOM, power) left its
 * dirs behind for ever — a checkout or a `node_modules` each time.
 *
 * On start, a worker sweeps the roots of dead processes: a `distci-work-<pid>-…` dir, a real
 * directory (not a link) owned by this user, whose pid no longer runs. Only ours: another user's
 * dirs, a live process's (even a stranger that reused the pid: it is left alone, the safe way to be
 * wrong) and anything not named so are never touched.
 */
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nanoid } from 'nanoid';

const ROOT = /^distci-work-(\d+)-[A-Za-z0-9_-]{6}$/;

const roots = new Map<string, Promise<string>>();

/** This process's root under `base` (made on first use). */
export function workRoot(base: string = tmpdir()): Promise<string> {
  let root = roots.get(base);
  if (!root) {
    const path = join(base, `distci-work-${process.pid}-${nanoid(6)}`);
    root = mkdir(path, { recursive: true, mode: 0o700 }).then(() => path);
    roots.set(base, root);
  }
  return root;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Removes the roots of dead worker processes of this user under `base`; returns what it removed. */
export async function sweepWorkRoots(base: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = ROOT.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || running(pid)) continue;
    const path = join(base, name);
    const info = await lstat(path).catch(() => null);
    if (!info?.isDirectory() || (uid !== undefined && info.uid !== uid)) continue;
    await rm(path, { recursive: true, force: true }).catch(() => {});
    removed.push(path);
  }
  return removed;
}
