/**
 * Starts a worker of any kind on opened storage: the entry point shared by `distci worker <kind>`,
 * `distci dev` and the tests. Each worker holds its own coordination session. An exec-shell worker
 * first settles how its steps are isolated (`options.isolation`, `resolveIsolation`): with `bwrap` it
 * refuses to start (`DISTCI_NO_SANDBOX`) where bubblewrap does not work.
 */
import { openDistci, type SecretsKey, type WorkerKind } from '@distci/common';
import type { Storage } from '@distci/storage';
import { createConfigCache } from './control/config-cache.js';
import { createControlHandler } from './control/control-handler.js';
import { copyArtifactsKind } from './kinds/copy-artifacts.js';
import { createExecShellKind, execShellKind } from './kinds/exec-shell.js';
import { gitCheckoutKind } from './kinds/git-checkout.js';
import { publishArtifactsKind } from './kinds/publish-artifacts.js';
import { resolveIsolation } from './kinds/sandbox.js';
import { createStepHandler, type StepKind } from './steps/step-handler.js';
import { sweepWorkRoots } from './steps/work-dirs.js';
import type { TicketHandler } from './ticket-handler.js';
import { createWorker, type Worker } from './worker.js';
import type { WorkerEventListener } from './worker-events.js';
import type { WorkerOptions } from './worker-options.js';

/** The step kinds with their default options (exec-shell unisolated: `startWorker` builds its own). */
export const STEP_KINDS: Record<Exclude<WorkerKind, 'control'>, StepKind> = {
  'git-checkout': gitCheckoutKind,
  'exec-shell': execShellKind,
  'publish-artifacts': publishArtifactsKind,
  'copy-artifacts': copyArtifactsKind,
};

export interface StartWorkerInput {
  storage: Storage;
  options: WorkerOptions;
  onEvent?: WorkerEventListener;
  /** Where step workspaces are made (default: the OS temp dir). */
  workDir?: string;
  /** Opens the secrets steps ask for (`DISTCI_SECRETS_KEY_FILE`); without it such steps fail. */
  secretsKey?: SecretsKey | null;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped (after a drain) and its session is closed. */
  done: Promise<void>;
  /** How its steps are isolated: `bwrap`, or `none` (also for kinds that run no step processes). */
  isolation: 'bwrap' | 'none';
  /** Set when `auto` isolation found no working bubblewrap: to be said once, clearly. */
  warning?: string;
}

/** Once per process: the temp dirs of killed worker processes go (`work-dirs.ts`). */
let swept: Promise<string[]> | null = null;

export async function startWorker({
  storage,
  options,
  onEvent,
  workDir,
  secretsKey,
}: StartWorkerInput): Promise<RunningWorker> {
  swept ??= sweepWorkRoots();
  await swept;
  const isolation = options.kind === 'exec-shell' ? await resolveIsolation(options.isolation) : { sandbox: null };
  const store = await storage.connect();
  const distci = openDistci({ store, blob: storage.blob });
  const configs = createConfigCache(storage.blob);
  const handler: TicketHandler =
    options.kind === 'control'
      ? createControlHandler({ blob: storage.blob, configs, github: options.github })
      : createStepHandler({
          kind:
            options.kind === 'exec-shell'
              ? createExecShellKind({ sandbox: isolation.sandbox })
              : STEP_KINDS[options.kind],
          distci,
          configs,
          workerId: options.id,
          workDir,
          secretsKey,
        });
  const worker = createWorker({ store, tickets: distci.tickets, options, handler, onEvent });
  const done = worker.run().finally(() => store.close());
  const warning = 'warning' in isolation ? isolation.warning : undefined;
  return { worker, done, isolation: isolation.sandbox ? 'bwrap' : 'none', ...(warning ? { warning } : {}) };
}
