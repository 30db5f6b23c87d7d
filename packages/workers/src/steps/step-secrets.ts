/**
 * The secrets of one step, opened by the worker that runs it, just before it runs.
 *
 * - The names come from the job (`secrets`) and the step (`secrets`, exec-shell only).
 * - A build of a pull request from a fork (or a retry of one) gets none: the step runs without them,
 *   and its log says so once.
 * - A worker without a secrets key, a missing secret or one limited to other jobs fails the step with
 *   a message naming the secret: running without what the step asked for would fail later, less
 *   clearly. Values exist only in this worker's memory and the step's environment; never in a ticket,
 *   a step state or a log (the exec-shell kind masks them).
 */
import {
  type BlobStore,
  type BuildState,
  coerceError,
  isDistciError,
  type JobConfig,
  openSecrets,
  type SecretsKey,
  type StepConfig,
  secretNamesOf,
  withholdsSecrets,
} from '@distci/common';
import type { LogWriter } from './log-writer.js';

const CONFIG_ERRORS = ['DISTCI_SECRET_NOT_FOUND', 'DISTCI_FORBIDDEN', 'DISTCI_SECRETS_DISABLED'] as const;

export type StepSecrets = { ok: true; values: Record<string, string> } | { ok: false; message: string };

export async function stepSecrets(input: {
  blob: BlobStore;
  key: SecretsKey | null;
  build: BuildState;
  job: JobConfig;
  config: StepConfig;
  log: LogWriter;
}): Promise<StepSecrets> {
  const names = secretNamesOf(input.job, input.config);
  if (names.length === 0) return { ok: true, values: {} };
  if (withholdsSecrets(input.build.trigger)) {
    input.log.write(
      `[distci] secrets ${names.join(', ')} are not given to this step: the build is of a pull request from a fork\n`,
    );
    return { ok: true, values: {} };
  }
  if (!input.key) {
    return {
      ok: false,
      message: `the step asks for secrets (${names.join(', ')}) but this worker has no DISTCI_SECRETS_KEY_FILE`,
    };
  }
  try {
    return { ok: true, values: await openSecrets(input.blob, input.key, input.job.name, names) };
  } catch (err) {
    // What the config or the setup got wrong fails the step; a store that failed is retried (rethrown).
    if (CONFIG_ERRORS.some((code) => isDistciError(err, code))) return { ok: false, message: coerceError(err).message };
    throw err;
  }
}
