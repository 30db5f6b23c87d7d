/**
 * Turns a step kind (git-checkout, exec-shell, publish-artifacts, copy-artifacts) into a ticket
 * handler: everything every step does the same way lives here.
 *
 * 1. The build must still exist and not be cancelled (a ticket of an archived build is dropped; a
 *    cancelled build's step ends `cancelled` without running).
 * 2. The step's config is read from the build's immutable config snapshot (cached per process).
 * 3. The step's signal aborts on: cancellation (a watch on the build node sees `cancel`), its timeout
 *    (the step's own, capped by the build's deadline), session loss or drain (from the runtime).
 * 4. The workspaces of the steps it needs are restored into a fresh temp dir, which is removed at the
 *    end whatever happens.
 * 5. The kind runs; its output goes to the step's log; the resulting workspace is stored under this
 *    attempt's key (only when the kind changed it).
 * 6. An error no retry can fix (`step-failure.ts`: a refused path, a key too long) fails the step at
 *    once with its message; any other error is thrown, and the runtime retries the ticket.
 * 7. The result is recorded with `stepResult` (step state + an `advance` control ticket) in the
 *    ticket's finishing transaction — or, after session loss or drain, not at all (the runtime
 *    abandons or releases the ticket).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BuildState,
  type Distci,
  type FailureReason,
  type JobConfig,
  newStepState,
  type PlannedStep,
  paramEnv,
  planBuild,
  type SecretsKey,
  type StepConfig,
  type StepPayload,
  type StepState,
  type Ticket,
  type WorkerKind,
} from '@distci/common';
import type { ConfigCache } from '../control/config-cache.js';
import type { Outcome, TicketHandler } from '../ticket-handler.js';
import { createLogWriter, type LogWriter } from './log-writer.js';
import { classifyStepFailure, exhaustedMessage } from './step-failure.js';
import { stepSecrets } from './step-secrets.js';
import { workRoot } from './work-dirs.js';
import { restoreWorkspaces, storeWorkspace } from './workspace.js';

export interface StepContext {
  payload: StepPayload;
  job: JobConfig;
  config: StepConfig;
  planned: PlannedStep;
  attempt: number;
  worker: string;
  /**
   * The domain layer: what a kind reads or writes (artifacts, the checkout cache, other jobs' builds)
   * it asks of this, by name — never by storage key.
   */
  distci: Distci;
  /** The step's working directory: the restored workspace (empty for a checkout). */
  dir: string;
  /** The step's environment: job env + step env + matrix values + params + DISTCI_* variables + secrets. */
  env: Record<string, string>;
  /** The secrets in `env`, by name (their values are masked in the log). */
  secrets?: Record<string, string>;
  log: LogWriter;
  /** Aborts on cancel, timeout, session loss, drain; `stopReason()` says which. */
  signal: AbortSignal;
  /** Milliseconds this step may still run (null: no limit). */
  timeLeftMs: number | null;
  stopReason(): StepStopReason | null;
}

export type StepStopReason = 'cancelled' | 'timeout' | 'session-lost' | 'drain';

/** What a kind reports; the step handler fills in the rest of the step state. */
export interface StepRunResult {
  status: 'success' | 'failure';
  exitCode?: number | null;
  reason?: FailureReason | null;
  message?: string | null;
  cacheHit?: boolean | null;
  commit?: string | null;
  artifacts?: number | null;
  /** `changed`: store the workspace dir for dependents; `unchanged`: pass the input workspace on. */
  workspace: 'changed' | 'unchanged';
  /**
   * With `changed`: the kind already stored its workspace at this key, and the handler records it
   * instead of archiving `dir` again. Only for content-addressed keys (every attempt writes the same
   * content there, so fencing holds), e.g. a checkout's cache entry: a cache hit uploads nothing.
   */
  workspaceKey?: string | null;
}

export interface StepKind {
  kind: Exclude<WorkerKind, 'control'>;
  /** Whether the needs' workspaces are restored into `dir` before `run` (a checkout starts empty). */
  restoresWorkspace: boolean;
  run(ctx: StepContext): Promise<StepRunResult>;
}

export interface StepHandlerInput {
  kind: StepKind;
  distci: Distci;
  configs: ConfigCache;
  workerId: string;
  /** Where temp workspaces go (default: the OS temp dir). */
  workDir?: string;
  /** The key that opens secrets (`DISTCI_SECRETS_KEY_FILE`); null: steps that ask for secrets fail. */
  secretsKey?: SecretsKey | null;
}

/**
 * A step's environment (`StepContext.env`): job env, step env, matrix values, the build's declared
 * params (a param wins over an env entry of the same name), then the DISTCI_* variables.
 */
export function stepEnv(
  payload: StepPayload,
  planned: PlannedStep,
  job: JobConfig,
  params: Record<string, string> = {},
): Record<string, string> {
  return {
    ...planned.env,
    ...paramEnv(job, params),
    CI: 'true',
    DISTCI: 'true',
    DISTCI_JOB: payload.job,
    DISTCI_BUILD: String(payload.build),
    DISTCI_STEP: payload.step,
    DISTCI_COMMIT: payload.commit ?? '',
    DISTCI_REF: payload.ref ?? '',
    ...(job.repository ? { DISTCI_REPOSITORY: job.repository.url } : {}),
  };
}

export function createStepHandler({
  kind,
  distci,
  configs,
  workerId,
  workDir,
  secretsKey = null,
}: StepHandlerInput): TicketHandler {
  const finish = (payload: StepPayload, state: StepState, status: 'complete' | 'fail'): Outcome => {
    const { writes, successors } = distci.builds.stepResult(payload, state);
    return { status, ops: writes, successors };
  };

  return {
    exhausted(ticket: Ticket): Outcome {
      const payload = ticket.data.payload as StepPayload;
      const state: StepState = {
        ...newStepState(),
        status: 'failure',
        attempt: ticket.data.attempt,
        reason: 'infrastructure',
        message: exhaustedMessage(ticket),
        finishedAt: Date.now(),
      };
      return finish(payload, state, 'fail');
    },

    async run({ claim, signal: runtimeSignal }): Promise<Outcome> {
      const payload = claim.ticket.data.payload as StepPayload;
      const startedAt = Date.now();
      const base: StepState = {
        ...newStepState(startedAt),
        attempt: claim.attempt,
        worker: workerId,
        startedAt,
      };
      const controller = new AbortController();
      let stop: StepStopReason | null = null;
      const stopWith = (reason: StepStopReason) => {
        stop ??= reason;
        controller.abort(reason);
      };
      const onRuntimeAbort = () => stopWith(runtimeSignal.reason as StepStopReason);
      runtimeSignal.addEventListener('abort', onRuntimeAbort, { once: true });

      // Watch the build node for a cancel; re-armed after each change.
      let watching = true;
      const watchBuild = async (): Promise<BuildState | null> => {
        const read = await distci.builds.state(payload.job, payload.build, () => {
          if (watching) void watchBuild().catch(() => {});
        });
        if (!read) {
          stopWith('cancelled');
          return null;
        }
        if (read.state.cancel) stopWith(read.state.cancel.reason);
        return read.state;
      };

      let dir: string | null = null;
      let timer: NodeJS.Timeout | undefined;
      const log = createLogWriter(distci.logs, {
        job: payload.job,
        build: payload.build,
        step: payload.step,
        attempt: claim.attempt,
      });
      try {
        const build = await watchBuild();
        if (!build) return { status: 'complete' }; // the build is archived: nothing to record
        const job = await configs.get(payload.config.key);
        const planned = planBuild(job).find((p) => p.id === payload.step);
        const config = job.steps[payload.index];
        if (!planned || !config) {
          return finish(
            payload,
            {
              ...base,
              status: 'failure',
              reason: 'infrastructure',
              message: `no step '${payload.step}' in the build's config`,
              finishedAt: Date.now(),
            },
            'fail',
          );
        }
        const deadlines = [planned.timeoutMs === null ? null : startedAt + planned.timeoutMs, payload.deadline].filter(
          (d): d is number => d !== null,
        );
        const deadline = deadlines.length ? Math.min(...deadlines) : null;
        if (deadline !== null) {
          const wait = deadline - Date.now();
          if (wait <= 0) stopWith('timeout');
          else timer = setTimeout(() => stopWith('timeout'), wait);
        }
        let result: StepRunResult;
        const secrets =
          stop === null
            ? await stepSecrets({ blob: distci.storage.blob, key: secretsKey, build, job, config, log })
            : null;
        if (secrets && !secrets.ok) {
          log.write(`[distci] ${secrets.message}\n`);
          result = { status: 'failure', reason: 'infrastructure', message: secrets.message, workspace: 'unchanged' };
        } else if (stop === null) {
          dir = await mkdtemp(join(workDir ?? (await workRoot()), 'distci-ws-'));
          if (kind.restoresWorkspace) await restoreWorkspaces(distci.workspaces, payload.workspaces, dir);
          result = await kind.run({
            payload,
            job,
            config,
            planned,
            attempt: claim.attempt,
            worker: workerId,
            distci,
            dir,
            env: { ...stepEnv(payload, planned, job, build.params), ...secrets?.values },
            secrets: secrets?.values ?? {},
            log,
            signal: controller.signal,
            timeLeftMs: deadline === null ? null : Math.max(0, deadline - Date.now()),
            stopReason: () => stop,
          });
        } else {
          result = { status: 'failure', workspace: 'unchanged' };
        }
        const why = stop as StepStopReason | null;
        if (why === 'session-lost' || why === 'drain') throw new Error(`step stopped: ${why}`);
        let workspace: string | null = payload.workspaces.length === 1 ? payload.workspaces[0]! : null;
        if (why === null && result.workspace === 'changed' && result.workspaceKey) {
          workspace = result.workspaceKey;
        } else if (why === null && dir && (result.workspace === 'changed' || payload.workspaces.length > 1)) {
          workspace = distci.workspaces.key(payload, claim.attempt);
          await storeWorkspace(distci.workspaces, dir, workspace);
        }
        const state: StepState = {
          ...base,
          status: why === 'cancelled' ? 'cancelled' : why === 'timeout' ? 'failure' : result.status,
          exitCode: result.exitCode ?? null,
          reason: why ?? result.reason ?? (result.status === 'failure' ? 'exit-code' : null),
          message:
            why === 'timeout'
              ? 'the step timed out'
              : why === 'cancelled'
                ? 'the build was cancelled'
                : (result.message ?? null),
          cacheHit: result.cacheHit ?? null,
          commit: result.commit ?? null,
          artifacts: result.artifacts ?? null,
          workspace,
          finishedAt: Date.now(),
          logChunks: await log.close(),
        };
        return finish(payload, state, state.status === 'success' ? 'complete' : 'fail');
      } catch (err) {
        const why = stop as StepStopReason | null;
        const failure = classifyStepFailure(err);
        log.write(`\n[distci] ${failure.message}\n`);
        if (failure.permanent && why !== 'session-lost' && why !== 'drain') {
          // Another attempt would meet the same refusal: fail now, saying what failed.
          const state: StepState = {
            ...base,
            status: 'failure',
            reason: 'infrastructure',
            message: `the step could not run: ${failure.message}`,
            finishedAt: Date.now(),
            logChunks: await log.close().catch(() => null),
          };
          return finish(payload, state, 'fail');
        }
        await log.close().catch(() => {});
        throw err;
      } finally {
        watching = false;
        clearTimeout(timer);
        runtimeSignal.removeEventListener('abort', onRuntimeAbort);
        if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
      }
    },
  };
}
