/**
 * Everything `distci dev` runs, in this process: the embedded coordination store and a directory as
 * object store under the data dir (one embedded server, a session per component), the frontend, and
 * one worker of every kind. State lives in the data dir, so it survives a restart: the embedded store
 * replays its log (queued tickets and live builds are still there) and the token and the secrets key
 * (`<data dir>/secrets.key`, mode 0600) are reused.
 *
 * `stop()` drains the workers first (running steps finish or are released), then closes the frontend,
 * then the storage: nothing is cut off mid-write.
 */
import { join } from 'node:path';
import { compileStorageOptions, loadOrCreateSecretsKey, loadSecretsKey, WORKER_KINDS } from '@distci/common';
import { compileFrontendOptions, startFrontend } from '@distci/frontend';
import { openStorage, type Storage } from '@distci/storage';
import { listenError } from './daemons/listen-error.js';
import { secureDataDir } from './data-dir.js';
import type { EventLog } from './event-log.js';
import { hostLabels, startWorkers, type WorkerSet } from './start-workers.js';
import { loadOrCreateToken } from './token.js';

/** The secrets key of a one-machine install, in its data dir. */
export const SECRETS_KEY_FILE = 'secrets.key';

export interface DevOptions {
  readonly dataDir: string;
  readonly port: number | string | undefined;
  readonly host: string | undefined;
  /** Labels the exec-shell worker has besides the host's platform and arch. */
  readonly labels: readonly string[];
  /** The frontend's request log level (default warn). */
  readonly logLevel?: string;
  /** How exec-shell steps are isolated (default env DISTCI_ISOLATION, then `auto`). */
  readonly isolation?: string;
}

export interface DevServer {
  readonly url: string;
  readonly token: string;
  readonly tokenCreated: boolean;
  readonly storage: Storage;
  readonly workers: WorkerSet;
  /** Drains the workers, closes the frontend, closes the storage. Idempotent. */
  stop(): Promise<void>;
}

/** Only the variables that mean something on one machine: `dev` never talks to ZooKeeper or S3. */
function devEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const { DISTCI_ZK: _zk, DISTCI_S3_ENDPOINT: _s3, ...rest } = env;
  return rest;
}

export async function startDev(options: DevOptions, log: EventLog, env = process.env): Promise<DevServer> {
  const storageOptions = compileStorageOptions({ dataDir: options.dataDir }, devEnv(env));
  const { dataDir } = storageOptions;
  await secureDataDir(dataDir);
  // The git-checkout worker's mirrors live with the rest of the state (default: the OS temp dir).
  process.env.DISTCI_GIT_CACHE_DIR ??= join(dataDir, 'git-cache');
  const { token, created } = await loadOrCreateToken(dataDir);
  // The secrets key: the one given, else one made in the data dir on the first start (mode 0600).
  const secretsKey = env.DISTCI_SECRETS_KEY_FILE
    ? loadSecretsKey(env.DISTCI_SECRETS_KEY_FILE)
    : await loadOrCreateSecretsKey(join(dataDir, SECRETS_KEY_FILE));
  // One machine, the operator's own: local repositories (the demo's) are allowed unless env says no.
  process.env.DISTCI_ALLOW_LOCAL_REPOSITORIES ??= env.DISTCI_ALLOW_LOCAL_REPOSITORIES ?? 'true';
  const fo = compileFrontendOptions(
    { port: options.port, host: options.host, tokens: [token], secretsKey },
    { ...env, DISTCI_ALLOW_LOCAL_REPOSITORIES: env.DISTCI_ALLOW_LOCAL_REPOSITORIES ?? 'true' },
  );
  const storage = await openStorage(storageOptions);
  let workers: WorkerSet | undefined;
  let frontend: Awaited<ReturnType<typeof startFrontend>> | undefined;
  try {
    // Request logs of warnings and up only, on stderr: stdout is for the URL, the token, the demo's build.
    frontend = await startFrontend({
      storage,
      options: fo,
      logger: { level: options.logLevel ?? 'warn', stream: process.stderr },
    });
    workers = await startWorkers(
      storage,
      WORKER_KINDS.map((kind) => ({
        kind,
        labels: kind === 'exec-shell' ? [...hostLabels(), ...options.labels] : undefined,
        // Enough for the samples' parallel steps on a laptop; exec-shell runs real processes.
        concurrency: kind === 'exec-shell' ? 4 : 2,
        workerId: `dev-${kind}-${process.pid}`,
        // One machine, often a laptop without bubblewrap: isolate steps when it works, warn when not.
        isolation: options.isolation ?? env.DISTCI_ISOLATION ?? 'auto',
      })),
      log,
      env,
      undefined,
      secretsKey,
    );
  } catch (err) {
    await frontend?.close().catch(() => {});
    await storage.close().catch(() => {});
    throw listenError(err, fo.host, fo.port);
  }
  const started = workers;
  const server = frontend;
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    token,
    tokenCreated: created,
    storage,
    workers: started,
    stop() {
      stopping ??= (async () => {
        await started.drain();
        await server.close();
        await storage.close();
      })();
      return stopping;
    },
  };
}
