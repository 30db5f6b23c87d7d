/**
 * A per-object mutex for the directory blob store that holds across async callers and processes.
 *
 * In-process, callers of one key queue on a promise chain, so they never poll each other. Across
 * processes, the lock is the file `<enc>~lock` next to the object: a holder writes its identity
 * ({pid, host, token}) to a private staging file and link(2)s it to the lock name. link fails with EEXIST
 * when the name exists, atomically, so at most one process holds it, and the lock appears with its
 * content complete. Release unlinks it. Waiters poll (1 → 32 ms backoff): there is no portable event
 * for "another process unlinked a file".
 *
 * A holder that died leaves its lock behind. A waiter breaks it only when the holder is provably dead
 * (same host, its pid gone): it takes the breaker lock `<enc>~break` (same link(2) scheme), re-reads the
 * lock and unlinks it only if it still carries the dead holder's token. While the breaker lock is held
 * nobody else can remove the lock, and its dead owner cannot, so that check-then-unlink cannot race.
 * A breaker lock left by a dead breaker is never broken automatically (that would need a third lock);
 * it only costs liveness: after LOCK_WAIT_MS the operation fails and names the file to remove.
 * Assumes processes sharing a directory share a pid namespace when they share a host name.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { distciError } from '@distci/common';

/** 30 s: a holder keeps the lock for one rename (~1 ms); waiting this long means something is stuck. */
export const LOCK_WAIT_MS = 30_000;
/** 32 ms: a holder keeps the lock ~1 ms; polling faster only burns CPU, slower only adds latency. */
const MAX_BACKOFF_MS = 32;

interface Holder {
  pid: number;
  host: string;
  token: string;
}

const queues = new Map<string, Promise<void>>();
const host = hostname();

/**
 * Runs `fn` holding the lock of object `name` in directory `dir` (which must exist: the caller keeps a
 * temp file in it, so that it cannot be pruned meanwhile).
 */
export async function withObjectLock<T>(dir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dir, `${name}~lock`);
  const previous = queues.get(lockPath) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => {
    done = resolve;
  });
  const tail = previous.then(() => mine);
  queues.set(lockPath, tail);
  try {
    await previous;
    await acquire(dir, lockPath, `${name}~break`);
    try {
      return await fn();
    } finally {
      await unlink(lockPath).catch(() => {});
    }
  } finally {
    done();
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  }
}

/** Links a staging file holding our identity to `path`; true when we got it, false on EEXIST. */
async function tryLink(dir: string, path: string, holder: Holder): Promise<boolean> {
  const staging = join(dir, `~lk-${holder.token}`);
  await writeFile(staging, JSON.stringify(holder), { flag: 'wx' });
  try {
    await link(staging, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(staging).catch(() => {});
  }
}

async function readHolder(path: string): Promise<Holder | null> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string' && typeof holder.token === 'string') {
      return holder as Holder;
    }
  } catch {}
  return null;
}

function isDead(holder: Holder): boolean {
  if (holder.host !== host) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function acquire(dir: string, lockPath: string, breakerName: string): Promise<void> {
  const me: Holder = { pid: process.pid, host, token: randomUUID() };
  const deadline = Date.now() + LOCK_WAIT_MS;
  let backoff = 1;
  for (;;) {
    if (await tryLink(dir, lockPath, me)) return;
    const holder = await readHolder(lockPath);
    if (holder && isDead(holder)) {
      await breakStale(dir, lockPath, join(dir, breakerName), holder);
      continue;
    }
    if (Date.now() > deadline) {
      throw distciError('DISTCI_BLOB_STORE_ERROR', `timed out after ${LOCK_WAIT_MS} ms waiting for ${lockPath}`, {
        hint: holder
          ? `pid ${holder.pid} on ${holder.host} holds it; if no distci process uses this directory, delete the file`
          : 'if no distci process uses this directory, delete the file',
      });
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/** Removes the lock of a dead holder, under the breaker lock, only if it is still that holder's. */
async function breakStale(dir: string, lockPath: string, breakerPath: string, dead: Holder): Promise<void> {
  const me: Holder = { pid: process.pid, host, token: randomUUID() };
  if (!(await tryLink(dir, breakerPath, me))) {
    const breaker = await readHolder(breakerPath);
    if (breaker && isDead(breaker)) {
      throw distciError('DISTCI_BLOB_STORE_ERROR', `a dead process (pid ${breaker.pid}) left ${breakerPath}`, {
        hint: 'if no distci process uses this directory, delete that file and retry',
      });
    }
    await sleep(1);
    return;
  }
  try {
    const current = await readHolder(lockPath);
    if (current?.token === dead.token) await unlink(lockPath).catch(() => {});
  } finally {
    await unlink(breakerPath).catch(() => {});
  }
}
