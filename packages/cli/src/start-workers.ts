/**
 * Starts workers on opened storage (one session each) and stops them together: `distci dev` starts one
 * of every kind, `distci worker <kind>` one. `drain()` stops claiming everywhere, lets in-flight
 * tickets finish within each worker's grace, releases the rest, and resolves when every worker's
 * session is closed.
 */
import { hostname } from 'node:os';
import type { SecretsKey, WorkerKind } from '@distci/common';
import type { Storage } from '@distci/storage';
import {
  compileWorkerOptions,
  type RunningWorker,
  startWorker,
  type WorkerFlags,
  type WorkerMetrics,
} from '@distci/workers';
import type { EventLog } from './event-log.js';

export interface WorkerSet {
  readonly workers: RunningWorker[];
  /** Resolves when every worker has stopped (after `drain`, or when one's session could not go on). */
  readonly done: Promise<void>;
  drain(): Promise<void>;
}

/** `linux`, `x64`: the labels of this host (Node's `process.platform` and `process.arch`). */
export function hostLabels(): string[] {
  return [process.platform, process.arch];
}

export async function startWorkers(
  storage: Storage,
  specs: Array<Omit<WorkerFlags, 'kind'> & { kind: WorkerKind }>,
  log: EventLog,
  env: Record<string, string | undefined> = process.env,
  metrics?: WorkerMetrics,
  secretsKey: SecretsKey | null = null,
): Promise<WorkerSet> {
  const workers: RunningWorker[] = [];
  try {
    for (const spec of specs) {
      const options = compileWorkerOptions(spec, env);
      const logEvent = log.forWorker(options);
      const onEvent: typeof logEvent = metrics
        ? (event) => {
            logEvent(event);
            metrics.observe(options.kind, event);
          }
        : logEvent;
      const running = await startWorker({
        storage,
        options,
        onEvent,
        // Only exec-shell steps get secrets: no other kind needs the key in its memory.
        secretsKey: options.kind === 'exec-shell' ? secretsKey : null,
      });
      workers.push(running);
      const labels = options.labels.length ? ` labels ${options.labels.join(',')}` : '';
      const isolation = options.kind === 'exec-shell' ? `, steps isolated: ${running.isolation}` : '';
      log.info(`worker ${options.kind} ${options.id} on ${hostname()} started${labels}${isolation}`);
      if (running.warning) log.warn(`WARNING: ${running.warning}`);
    }
  } catch (err) {
    await Promise.allSettled(workers.map((w) => w.worker.drain(0)));
    throw err;
  }
  const done = Promise.all(workers.map((w) => w.done)).then(() => {});
  return {
    workers,
    done,
    async drain() {
      await Promise.all(workers.map((w) => w.worker.drain()));
      await done;
    },
  };
}
