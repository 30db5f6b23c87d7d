/**
 * The data-dir lock of the embedded coordination store: two processes replaying and appending to one log
 * would corrupt it, so a server holds `<dataDir>/lock` for its lifetime.
 *
 * The lock is a file created with O_EXCL holding `{pid, host, start}`; `start` is the process start time
 * from /proc (Linux), so a lock whose PID was reused by an unrelated process is still seen as stale.
 * A lock is stale when its process is gone on this host; a stale lock is taken over. A lock written on
 * another host (a shared file system) cannot be checked and counts as held.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { distciError } from '@distci/common';

interface LockHolder {
  pid: number;
  host: string;
  start: string | null;
}

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null off Linux. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): { raw: string; holder: LockHolder | null } | null {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const h = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') {
      return { raw, holder: { pid: h.pid, host: h.host, start: typeof h.start === 'string' ? h.start : null } };
    }
  } catch {}
  // Unreadable content: a crash between create and write; nobody can own it.
  return { raw, holder: null };
}

function isHeld(holder: LockHolder | null): boolean {
  if (!holder) return false;
  if (holder.host !== hostname()) return true;
  if (!isAlive(holder.pid)) return false;
  const start = processStart(holder.pid);
  return holder.start === null || start === null || start === holder.start;
}

/** Takes `<dataDir>/lock` or throws DISTCI_BAD_OPTION naming the holder. `dataDir` must exist. */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, 'lock');
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), start: processStart(process.pid) });
  // Three tries: each lost race against another process taking over the same stale lock costs one.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      return {
        path,
        release() {
          if (readHolder(path)?.raw === mine) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readHolder(path);
    if (!current) continue;
    if (isHeld(current.holder)) {
      const h = current.holder!;
      throw distciError('DISTCI_BAD_OPTION', `the data dir '${dataDir}' is in use by process ${h.pid} on ${h.host}`, {
        hint: `stop that process or use another --data-dir; if it is surely gone, delete ${path}`,
        details: { option: 'dataDir', value: dataDir, holder: h },
      });
    }
    // Stale: move it aside atomically, then make sure what we moved is what we judged stale; if another
    // process had taken the lock over in between, put its lock back and report the dir as in use.
    const aside = `${path}.stale-${process.pid}-${attempt}`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readHolder(aside);
    if (moved && moved.raw !== current.raw) {
      try {
        linkSync(aside, path);
      } catch {}
    }
    unlinkSync(aside);
  }
  throw distciError('DISTCI_BAD_OPTION', `could not lock the data dir '${dataDir}': other processes keep taking it`, {
    hint: 'run one distci process per --data-dir',
    details: { option: 'dataDir', value: dataDir },
  });
}
