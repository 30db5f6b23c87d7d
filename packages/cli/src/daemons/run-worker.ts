/** The body of `distci worker <kind>` (loaded only when that command runs). */
import { join } from 'node:path';
import { compileStorageOptions, isWorkerKind, loadSecretsKey, readOption, WORKER_KINDS } from '@distci/common';
import { checkStorage, openStorage, type Storage } from '@distci/storage';
import {
  compileLogLevel,
  createWorkerMetrics,
  startWorkerHttp,
  type WorkerHttp,
  type WorkerMetrics,
} from '@distci/workers';
import { cliError, EXIT } from '../cli-error.js';
import { secureDataDir } from '../data-dir.js';
import { createEventLog } from '../event-log.js';
import { onShutdown } from '../shutdown.js';
import { startWorkers, type WorkerSet } from '../start-workers.js';
import { storageFlags } from '../storage-flags.js';
import { describeStorage } from './describe-storage.js';

export async function runWorker(kind: string, opts: Record<string, string | boolean | undefined>): Promise<void> {
  if (!isWorkerKind(kind)) {
    throw cliError(`'${kind}' is not a worker kind; use one of ${WORKER_KINDS.join(', ')}`, { exitCode: EXIT.usage });
  }
  const log = createEventLog({ json: opts.json === true, level: compileLogLevel(opts.logLevel as string | undefined) });
  const storageOptions = compileStorageOptions(storageFlags(opts));
  // A git-checkout worker keeps its mirrors with the rest of its state when given a data dir.
  if (typeof opts.dataDir === 'string') {
    await secureDataDir(storageOptions.dataDir);
    process.env.DISTCI_GIT_CACHE_DIR ??= join(storageOptions.dataDir, 'git-cache');
  }
  const option = <T>(name: string) => readOption<T>('worker', name, opts, process.env);
  const metricsPort = option<number | undefined>('metricsPort') ?? null;
  const metricsHost = option<string>('metricsHost');
  const metrics = createWorkerMetrics();
  const keyFile = option<string | undefined>('secretsKeyFile');
  const secretsKey = kind === 'exec-shell' && keyFile ? loadSecretsKey(keyFile) : null;
  if (opts.allowLocalRepositories === true) process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES = 'true';
  const storage = await openStorage(storageOptions);
  try {
    // A worker can do nothing without its bucket: refuse to start, naming it (a supervisor restarts it).
    await checkStorage(storage);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'DISTCI_STORAGE_NOT_INITIALISED') {
      await storage.close();
      throw cliError((err as Error).message, { code });
    }
    // The object store did not answer (down, restarting): that is no proof the bucket is missing. Start
    // anyway; steps retry their storage calls, and a worker that exits here would stay down until
    // something restarts it (the chaos suite's RGW kill showed a git-checkout worker lost this way).
    log.warn(`object store not reachable at start (${(err as Error).message}); starting anyway`);
  }
  let set: Awaited<ReturnType<typeof startWorkers>>;
  try {
    set = await startWorkers(
      storage,
      [
        {
          kind,
          labels: opts.labels as string | undefined,
          concurrency: opts.concurrency as string | undefined,
          graceMs: opts.graceMs as string | undefined,
          workerId: opts.workerId as string | undefined,
          isolation: opts.isolation as string | undefined,
        },
      ],
      log,
      process.env,
      metrics,
      secretsKey,
    );
  } catch (err) {
    await storage.close();
    throw err;
  }
  const http =
    metricsPort === null ? null : await startMetricsEndpoint(metrics, metricsHost, metricsPort, set, storage);
  if (http) log.info(`metrics and health at ${http.url}/metrics, ${http.url}/healthz`);
  log.info(`ready: ${describeStorage(storageOptions)}`);
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await set.drain();
    await http?.close();
    await storage.close();
    log.info('stopped');
  };
  onShutdown(stop, log.info);
  await set.done;
  if (!stopped) {
    await http?.close();
    await storage.close();
    throw new Error(`the ${kind} worker stopped without being asked to; see the lines above`);
  }
}

async function startMetricsEndpoint(
  metrics: WorkerMetrics,
  host: string,
  port: number,
  set: WorkerSet,
  storage: Storage,
): Promise<WorkerHttp> {
  try {
    return await startWorkerHttp({ host, port, registry: metrics.registry, unhealthy: () => metrics.unhealthy() });
  } catch (err) {
    await set.drain();
    await storage.close();
    throw cliError(`cannot serve metrics on ${host}:${port}: ${(err as Error).message}`);
  }
}
