/**
 * Real workers (`startWorker` of @distci/workers) on a test's storage, in-process, each with its own
 * session as separate processes would have; drained and awaited in teardown.
 */
import type { WorkerKind } from '@distci/common';
import type { Storage } from '@distci/storage';
import { compileWorkerOptions, type RunningWorker, startWorker } from '@distci/workers';
import type { Test } from 'tap';
import type { TestStorage } from './frontend.js';

export async function startWorkers(
  t: Test,
  storage: TestStorage,
  kinds: Partial<Record<WorkerKind, number>>,
  /** exec-shell steps: in the sandbox where bubblewrap works (`auto`, the default), or `none`. */
  isolation: 'auto' | 'none' = 'auto',
): Promise<RunningWorker[]> {
  const running: RunningWorker[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((w) => w.worker.drain(0)));
    await Promise.all(running.map((w) => w.done.catch(() => {})));
  });
  // startWorker needs only `connect` and `blob` of a Storage: each worker gets its own session.
  const asStorage = { connect: storage.connect, blob: storage.blob } as unknown as Storage;
  for (const [kind, n] of Object.entries(kinds) as Array<[WorkerKind, number]>) {
    for (let i = 0; i < n; i++) {
      const options = compileWorkerOptions({ kind, concurrency: 2, labels: 'linux', sweepMs: 5000, isolation }, {});
      running.push(await startWorker({ storage: asStorage, options }));
    }
  }
  return running;
}
