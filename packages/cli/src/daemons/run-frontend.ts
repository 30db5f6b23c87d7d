/** The body of `distci frontend` (loaded only when that command runs). */
import { compileStorageOptions } from '@distci/common';
import { compileFrontendOptions, startFrontend } from '@distci/frontend';
import { checkStorage, openStorage } from '@distci/storage';
import { createEventLog } from '../event-log.js';
import { onShutdown } from '../shutdown.js';
import { storageFlags } from '../storage-flags.js';
import { describeStorage } from './describe-storage.js';
import { listenError } from './listen-error.js';

export async function runFrontend(opts: Record<string, string | boolean | undefined>): Promise<void> {
  const flag = (name: string) => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined);
  const options = compileFrontendOptions({
    port: flag('port'),
    host: flag('host'),
    tokensFile: flag('tokensFile'),
    secretsKeyFile: flag('secretsKeyFile'),
    publicUrl: flag('publicUrl'),
    logLevel: flag('logLevel'),
    ...(opts.allowLocalRepositories === true ? { allowLocalRepositories: true } : {}),
  });
  // `--log-level` is the request log's (fastify's pino, stdout). The daemon's own lines (stderr: ready,
  // not ready, warnings) stay at info: scripts and supervisors wait for "frontend ready at" (the chaos
  // suite, the bench and cluster.sh run frontends with --log-level warn, and hung waiting for it).
  const log = createEventLog({ json: opts.json === true, level: 'info' });
  const storageOptions = compileStorageOptions(storageFlags(opts));
  const storage = await openStorage(storageOptions);
  // A frontend without its bucket still starts (its /readyz answers 503 with the same reason, so a
  // balancer keeps it out), but says at once what is missing and what to run.
  const missing = await checkStorage(storage).then(
    () => null,
    (err: Error) => err.message,
  );
  if (missing) log.warn(`not ready: ${missing}`);
  let frontend: Awaited<ReturnType<typeof startFrontend>>;
  try {
    frontend = await startFrontend({ storage, options });
  } catch (err) {
    await storage.close();
    throw listenError(err, options.host, options.port);
  }
  if (options.tokenDigests.length === 0) {
    log.warn('no API tokens configured (DISTCI_TOKENS / DISTCI_TOKENS_FILE): every write will be refused');
  }
  log.info(`frontend ready at ${frontend.url} (${describeStorage(storageOptions)})`);
  await new Promise<void>((resolve) => {
    onShutdown(async () => {
      await frontend.close();
      await storage.close();
      log.info('stopped');
      resolve();
    }, log.info);
  });
}
