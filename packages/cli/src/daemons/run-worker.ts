/** The body of `distci worker <kind>` (loaded only when that command runs). */
import { join } from 'node:path';
import { compileStorageOptions, isWorkerKind, loadSecretsKey, WORKER_KINDS } from '@distci/common';
import { openStorage } from '@distci/storage';
import { cliError, EXIT } from '../cli-error.js';
import { createEventLog } from '../event-log.js';
import { onShutdown } from '../shutdown.js';
import { startWorkers } from '../start-workers.js';
import { storageFlags } from '../storage-flags.js';
import { describeStorage } from './describe-storage.js';

export async function runWorker(kind: string, opts: Record<string, string | boolean | undefined>): Promise<void> {
  if (!isWorkerKind(kind)) {
    throw cliError(`'${kind}' is not a worker kind; use one of ${WORKER_KINDS.join(', ')}`, { exitCode: EXIT.usage });
  }
  const log = createEventLog({ json: opts.json === true });
  const storageOptions = compileStorageOptions(storageFlags(opts));
  // A git-checkout worker keeps its mirrors with the rest of its state when given a data dir.
  if (typeof opts.dataDir === 'string') process.env.DISTCI_GIT_CACHE_DIR ??= join(storageOptions.dataDir, 'git-cache');
  const keyFile = (opts.secretsKeyFile as string | undefined) ?? process.env.DISTCI_SECRETS_KEY_FILE;
  const secretsKey = kind === 'exec-shell' && keyFile ? loadSecretsKey(keyFile) : null;
  const storage = await openStorage(storageOptions);
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
        },
      ],
      log,
      process.env,
      secretsKey,
    );
  } catch (err) {
    await storage.close();
    throw err;
  }
  log.info(`ready: ${describeStorage(storageOptions)}`);
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await set.drain();
    await storage.close();
    log.info('stopped');
  };
  onShutdown(stop, log.info);
  await set.done;
  if (!stopped) {
    await storage.close();
    throw new Error(`the ${kind} worker stopped without being asked to; see the lines above`);
  }
}
