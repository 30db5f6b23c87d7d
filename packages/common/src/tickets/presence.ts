/**
 * Worker presence: an ephemeral node per live worker, `/workers/<kind>/<worker-id>`, with what the
 * worker is and does. For visibility only (the queue view, the workers API): nothing depends on it,
 * and no worker registers anywhere — a worker that never writes it still works.
 */

import { childrenOrEmpty } from '../children-or-empty.js';
import type { CoordinationStore } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { FORMAT_VERSION, parseRecord } from '../format-version.js';
import { zpaths } from '../keys.js';
import type { WorkerPresence } from '../schemas/worker-views.js';
import { WORKER_KINDS, type WorkerKind } from '../types.js';

export type { WorkerPresence } from '../schemas/worker-views.js';

/** Writes (creates or updates) the presence node of a worker. */
export async function writePresence(store: CoordinationStore, p: WorkerPresence): Promise<void> {
  const path = zpaths.worker(p.kind, p.id);
  const data = Buffer.from(JSON.stringify({ v: FORMAT_VERSION, ...p }));
  try {
    await store.set(path, data);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
    await store.ensurePath(zpaths.workerKind(p.kind));
    try {
      await store.create(path, data, 'ephemeral');
    } catch (e) {
      if (!isDistciError(e, 'DISTCI_NODE_EXISTS')) throw e;
      await store.set(path, data);
    }
  }
}

/** Every live worker (of one kind, or all). */
export async function listWorkers(store: CoordinationStore, kind?: WorkerKind): Promise<WorkerPresence[]> {
  const kinds = kind ? [kind] : [...WORKER_KINDS];
  const out: WorkerPresence[] = [];
  await Promise.all(
    kinds.map(async (k) => {
      const names = await childrenOrEmpty(store, zpaths.workerKind(k));
      await Promise.all(
        names.map(async (n) => {
          try {
            const { data } = await store.get(zpaths.worker(k, n));
            const { v: _v, ...presence } = parseRecord<WorkerPresence & { v?: number }>(
              data,
              `the presence of ${k} ${n}`,
            );
            out.push(presence);
          } catch (err) {
            if (!isDistciError(err, 'DISTCI_NO_NODE') && !(err instanceof SyntaxError)) throw err;
          }
        }),
      );
    }),
  );
  return out.sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1));
}

/** Removes a worker's presence node (a stopping worker); nothing when it is gone already. */
export async function removePresence(store: CoordinationStore, kind: WorkerKind, id: string): Promise<void> {
  try {
    await store.delete(zpaths.worker(kind, id));
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
  }
}
