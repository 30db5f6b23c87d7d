/**
 * The build state machine, as one pure function: given a build, its plan, its steps' states and the
 * time, what happens next. No I/O: `control-build.ts` reads what this needs, calls it and writes what
 * it says, so every control worker that looks at the same build decides the same thing (invariant 8),
 * and every rule here is unit-tested on plain data (`test/builds/advance-build.test.ts`).
 *
 * The rules:
 * - Start: a `queued` build becomes `running`; its deadline is the trigger time plus the job's
 *   `timeout` (default `DEFAULT_BUILD_TIMEOUT_MS`) — counted from the trigger whatever its steps do
 *   (from the start for a build of a concurrency group, which may have waited for others first).
 * - Timeout: past the deadline the build is cancelled with reason `timeout` (running steps watch the
 *   build node and stop; waiting tickets are dropped).
 * - A step with no state yet is *runnable* when every step it needs succeeded, *skipped* when one of
 *   them ended otherwise, *cancelled* (never ran) when the build is being cancelled.
 * - A step whose ticket still waits unclaimed is dropped when the build is cancelled (`cancelled`),
 *   or when it waited longer than the job's `queueTimeout` (default `DEFAULT_QUEUE_TIMEOUT_MS`):
 *   `failure`, reason `timeout`.
 * - Finished when every step is terminal: `cancelled` if cancelled by a person; `error` if a step
 *   failed for `infrastructure`; `failure` if any step did not succeed (or the build timed out);
 *   `success` otherwise. Then the record is written and the nodes removed.
 * - Turns are bounded (issue 13, hole 1): one turn writes at most `budgetBytes`; what does not fit is
 *   left for the next turn (`more`: the caller posts an `advance` control ticket). A build whose node
 *   removal does not fit one transaction is ended over several turns (`ending` in the build node).
 * - Wake-ups: the next time something is due (the deadline, the earliest queue timeout) comes back as
 *   `wakeAt` when no delayed control ticket is posted for it yet; the caller posts one.
 */

import { parseDuration } from '../jobs/duration.js';
import type { JobConfig } from '../jobs/job-config.js';
import type { PlannedStep } from '../jobs/plan-build.js';
import type { TicketSpec } from '../tickets/ticket.js';
import { TURN_BUDGET_BYTES } from '../txn-budget.js';
import type { BuildStatus } from '../types.js';
import type { BuildRecord } from './build-record.js';
import { type BuildState, newStepState, type StepState, type StepStatus } from './build-state.js';
import type { StepPayload } from './step-ticket.js';

/** 6 h: a build nobody bounded still ends (GitHub Actions' default job timeout is 6 h too). */
export const DEFAULT_BUILD_TIMEOUT_MS = 6 * 3_600_000;
/** 1 h: a step nobody can run (a label no worker has) fails after this long waiting in its queue. */
export const DEFAULT_QUEUE_TIMEOUT_MS = 3_600_000;

export type FinalStatus = Exclude<BuildStatus, 'queued' | 'running'>;

export interface AdvanceInput {
  build: BuildState;
  config: JobConfig;
  plan: PlannedStep[];
  /** The step states as read (a step with no node has not been posted). */
  steps: ReadonlyMap<string, StepState>;
  now: number;
  /**
   * The steps whose tickets wait unclaimed, when the caller looked (it must when `needsWaiting` says
   * so); undefined when it did not.
   */
  waiting?: ReadonlySet<string>;
  /** The delayed control ticket this turn runs for (`wake` payload's `at`), if any. */
  wokeFor?: number;
  /** Bytes this turn may write (default `TURN_BUDGET_BYTES`). */
  budgetBytes?: number;
}

export interface StepDispatch {
  step: string;
  /** The step's state node, created `queued` with its ticket. */
  state: StepState;
  payload: StepPayload;
  spec: TicketSpec;
}

export interface AdvanceResult {
  /** The build node after this turn (equal to the input's when `changed` is false). */
  build: BuildState;
  changed: boolean;
  /** The build was cancelled in this turn: write it at once, so running steps stop before the rest. */
  announce: boolean;
  /** Step nodes to create, already terminal (skipped, cancelled). */
  settle: Array<{ step: string; state: StepState }>;
  /** Waiting tickets to delete, with the state their step ends in (null: its node is removed anyway). */
  drop: Array<{ step: string; state: StepState | null }>;
  /** Steps to post. */
  dispatch: StepDispatch[];
  /** The build ended in this turn: its status. */
  status: FinalStatus | null;
  /** The record to write before any node is removed (only in the turn the build ends). */
  record: BuildRecord | null;
  /** Step nodes to delete in this turn. */
  remove: string[];
  /** This turn removes the build node itself (and fires its downstream triggers). */
  removeBuild: boolean;
  /** Work is left for another turn: post an `advance` control ticket. */
  more: boolean;
  /** Post a delayed control ticket due at this time. */
  wakeAt: number | null;
}

const TERMINAL: ReadonlySet<StepStatus> = new Set(['success', 'failure', 'skipped', 'cancelled']);

/** Bytes of a create/set/delete op beyond its data (see `opBytes` in `txn-budget.ts`). */
const OP_OVERHEAD = 64;
/** A step node's path is `/jobs/<job>/builds/b-<10 digits>/steps/<id>`. */
const stepPathBytes = (job: string, step: string) => 30 + job.length + 18 + Buffer.byteLength(step);
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
/** A ticket node holds the payload plus ~120 B of ticket data; its path ~60 B. */
const TICKET_BYTES = 120 + 60 + OP_OVERHEAD;

export function buildTimeoutMs(config: JobConfig): number {
  return config.timeout ? parseDuration(config.timeout) : DEFAULT_BUILD_TIMEOUT_MS;
}

export function queueTimeoutMs(config: JobConfig): number {
  return config.queueTimeout ? parseDuration(config.queueTimeout, 'queueTimeout') : DEFAULT_QUEUE_TIMEOUT_MS;
}

/** The queue deadlines of steps still `queued` that control has not looked at yet. */
function queueDeadlines(build: BuildState, config: JobConfig, steps: ReadonlyMap<string, StepState>): number[] {
  const qt = queueTimeoutMs(config);
  const checked = build.queueCheckedAt ?? Number.NEGATIVE_INFINITY;
  const out: number[] = [];
  for (const s of steps.values()) {
    if (s.status !== 'queued' || s.startedAt !== null) continue;
    const due = s.queuedAt + qt;
    if (due > checked) out.push(due);
  }
  return out;
}

/** Whether the caller must look which tickets of this build still wait (and pass them as `waiting`). */
export function needsWaiting(input: Omit<AdvanceInput, 'waiting'>): boolean {
  const { build, config, steps, now } = input;
  const deadline = build.deadline ?? (build.status === 'queued' ? build.createdAt + buildTimeoutMs(config) : null);
  const cancelled = build.cancel !== null || (deadline !== null && now >= deadline);
  const hasQueued = [...steps.values()].some((s) => s.status === 'queued');
  if (!hasQueued || build.ending) return false;
  return cancelled || queueDeadlines(build, config, steps).some((d) => d <= now);
}

/** The archived record of a build, from its plan (or, without one, its step nodes) and step states. */
export function buildRecordOf(
  build: BuildState,
  plan: PlannedStep[] | null,
  states: ReadonlyMap<string, StepState>,
  status: FinalStatus,
  error?: string,
): BuildRecord {
  const planned =
    plan ??
    [...states.keys()].sort().map(
      (id): PlannedStep => ({
        id,
        name: id,
        index: -1,
        type: 'exec-shell',
        needs: [],
        matrix: null,
        labels: [],
        timeoutMs: null,
        env: {},
      }),
    );
  const steps = planned.map((p) => {
    const {
      v: _v,
      queue: _q,
      ...state
    } = states.get(p.id) ?? {
      ...newStepState(build.createdAt),
      status: 'cancelled' as const,
      message: 'the build ended before this step ran',
    };
    return {
      id: p.id,
      name: p.name,
      type: plan ? p.type : 'unknown',
      needs: p.needs,
      matrix: p.matrix,
      labels: p.labels,
      ...state,
    };
  });
  const ends = steps.map((s) => s.finishedAt ?? s.queuedAt);
  return {
    v: 1,
    job: build.job,
    number: build.number,
    status,
    trigger: build.trigger,
    ref: build.ref,
    commit: build.commit ?? steps.find((s) => s.commit)?.commit ?? null,
    params: build.params,
    config: build.config,
    createdAt: build.createdAt,
    startedAt: build.startedAt,
    finishedAt: Math.max(build.startedAt ?? build.createdAt, ...ends),
    cancel: build.cancel,
    ...(error ? { error } : {}),
    steps,
  };
}

function finalStatus(build: BuildState, plan: PlannedStep[], status: ReadonlyMap<string, StepState>): FinalStatus {
  const all = plan.map((p) => status.get(p.id)!);
  if (build.cancel?.reason === 'cancelled') return 'cancelled';
  if (all.some((s) => s.reason === 'infrastructure')) return 'error';
  if (build.cancel || all.some((s) => s.status !== 'success')) return 'failure';
  return 'success';
}

export function advanceBuild(input: AdvanceInput): AdvanceResult {
  const { config, plan, steps, now, waiting } = input;
  const budget = input.budgetBytes ?? TURN_BUDGET_BYTES;
  const original = input.build;
  const build: BuildState = { ...original };
  if (!build.ending && build.status === 'queued') {
    build.status = 'running';
    build.startedAt = now;
    // A build of a concurrency group may have waited for others: its time counts from its start.
    build.deadline = (build.group ? now : build.createdAt) + buildTimeoutMs(config);
  }
  if (!build.ending && !build.cancel && build.deadline !== null && now >= build.deadline) {
    build.cancel = { at: now, reason: 'timeout' };
  }
  const announce = build.cancel !== null && original.cancel === null;
  const result: AdvanceResult = {
    build,
    changed: false,
    announce,
    settle: [],
    drop: [],
    dispatch: [],
    status: null,
    record: null,
    remove: [],
    removeBuild: false,
    more: false,
    wakeAt: null,
  };
  let used = 0;
  const fits = (bytes: number) => {
    if (used + bytes > budget && used > 0) return false;
    used += bytes;
    return true;
  };

  if (build.ending) {
    removeNodes(result, [...steps.keys()], build.ending.status, fits);
    return finish(result, original, input);
  }

  // Everything's state after this turn, as far as this turn decides it.
  const states = new Map(steps);
  // 1. Waiting tickets to drop: all of them on cancel; those past their queue timeout otherwise.
  if (waiting) {
    const qt = queueTimeoutMs(config);
    for (const p of plan) {
      const s = states.get(p.id);
      if (s?.status !== 'queued' || !waiting.has(p.id)) continue;
      let ended: StepState | null = null;
      if (build.cancel) {
        ended = {
          ...s,
          status: 'cancelled',
          reason: build.cancel.reason === 'timeout' ? 'timeout' : 'cancelled',
          message:
            build.cancel.reason === 'timeout'
              ? 'the build timed out while this step waited for a worker'
              : 'the build was cancelled while this step waited for a worker',
          finishedAt: now,
        };
      } else if (s.queuedAt + qt <= now) {
        const labels = p.labels.length ? ` with labels ${p.labels.join(', ')}` : '';
        ended = {
          ...s,
          status: 'failure',
          reason: 'timeout',
          message: `waited ${Math.round((now - s.queuedAt) / 1000)}s for a ${p.type} worker${labels}; its queue timeout is ${Math.round(qt / 1000)}s (queueTimeout)`,
          finishedAt: now,
        };
      }
      if (!ended) continue;
      if (!fits(TICKET_BYTES + OP_OVERHEAD + stepPathBytes(build.job, p.id) + jsonBytes(ended))) {
        result.more = true;
        break;
      }
      states.set(p.id, ended);
      result.drop.push({ step: p.id, state: ended });
    }
    if (!build.cancel && !result.more) build.queueCheckedAt = now;
  }

  // 2. Steps with no state: settle (skipped / cancelled) or run, to a fixed point so a skip propagates
  // down a chain in one turn (plans are in config order; needs may point either way).
  const decided = new Map<string, StepStatus>();
  for (const [id, s] of states) decided.set(id, s.status);
  const settle: Array<{ step: string; state: StepState }> = [];
  const runnable: PlannedStep[] = [];
  const isRunnable = new Set<string>();
  let changed = true;
  while (changed) {
    changed = false;
    // A step that will never run ends now, with why.
    const settleAs = (step: PlannedStep, status: StepStatus, message: string, reason: StepState['reason'] = null) => {
      decided.set(step.id, status);
      settle.push({ step: step.id, state: { ...newStepState(now), status, reason, message, finishedAt: now } });
      changed = true;
    };
    for (const step of plan) {
      if (decided.has(step.id)) continue;
      if (build.cancel) {
        settleAs(step, 'cancelled', 'the build was cancelled before it ran', build.cancel.reason);
        continue;
      }
      const needs = step.needs.map((n) => decided.get(n));
      if (needs.some((s) => s !== undefined && s !== 'success' && TERMINAL.has(s))) {
        settleAs(step, 'skipped', 'a step it needs did not succeed');
      } else if (needs.every((s) => s === 'success') && !isRunnable.has(step.id)) {
        isRunnable.add(step.id);
        runnable.push(step);
      }
    }
  }
  for (const s of settle) states.set(s.step, s.state);

  const finished =
    !result.more && runnable.length === 0 && plan.every((p) => TERMINAL.has(states.get(p.id)?.status ?? 'queued'));
  if (finished) {
    const status = finalStatus(build, plan, states);
    result.status = status;
    result.record = buildRecordOf(build, plan, states, status);
    // Dropped tickets go in any case; their step nodes are removed with the others.
    for (const d of result.drop) d.state = null;
    removeNodes(result, [...steps.keys()], status, fits);
    return finish(result, original, input);
  }

  for (const s of settle) {
    if (!fits(OP_OVERHEAD + stepPathBytes(build.job, s.step) + jsonBytes(s.state))) {
      result.more = true;
      break;
    }
    result.settle.push(s);
  }
  for (const step of runnable) {
    if (result.more) break;
    const d = dispatchOf(build, config, step, states, now);
    if (
      !fits(TICKET_BYTES + jsonBytes(d.payload) + OP_OVERHEAD + stepPathBytes(build.job, step.id) + jsonBytes(d.state))
    ) {
      result.more = true;
      break;
    }
    result.dispatch.push(d);
  }
  return finish(result, original, input);
}

/** Removes the step nodes that fit; the build node too when all of them do. */
function removeNodes(result: AdvanceResult, nodes: string[], status: FinalStatus, fits: (bytes: number) => boolean) {
  const { build } = result;
  for (const id of nodes.sort()) {
    if (!fits(OP_OVERHEAD + stepPathBytes(build.job, id))) break;
    result.remove.push(id);
  }
  // The build, its steps parent, the job counter and the downstream triggers: ~4 KiB is plenty.
  if (result.remove.length === nodes.length && fits(4096)) {
    result.removeBuild = true;
    result.status = status;
    return;
  }
  // Not all in one transaction: the record is written now (once), the rest removed in later turns.
  build.ending = { status };
  result.more = true;
}

function dispatchOf(
  build: BuildState,
  config: JobConfig,
  step: PlannedStep,
  states: ReadonlyMap<string, StepState>,
  now: number,
): StepDispatch {
  const needs = step.needs.map((n) => states.get(n)!);
  const payload: StepPayload = {
    job: build.job,
    build: build.number,
    step: step.id,
    index: step.index,
    config: build.config,
    ref: build.ref ?? config.repository?.ref ?? null,
    commit: build.commit ?? needs.find((s) => s.commit)?.commit ?? null,
    workspaces: needs.map((s) => s.workspace).filter((w): w is string => w !== null),
    matrix: step.matrix,
    deadline: build.deadline,
    upstream: build.trigger.type === 'after' ? { job: build.trigger.job, build: build.trigger.build } : null,
  };
  const stepConfig = config.steps[step.index]!;
  return {
    step: step.id,
    state: { ...newStepState(now), queue: { kind: step.type, labels: step.labels } },
    payload,
    spec: {
      kind: step.type,
      labels: step.labels,
      // The trigger's priority, when it gave one, over the step's own (`--priority` on an urgent build).
      priority: build.priority ?? stepConfig.priority,
      maxAttempts: stepConfig.maxAttempts,
      payload,
    },
  };
}

/** Schedules the next wake-up and says whether the build node changed. */
function finish(result: AdvanceResult, original: BuildState, input: AdvanceInput): AdvanceResult {
  const { build } = result;
  const { now, config } = input;
  // Wakes already posted and still to come (the one this turn runs for is spent, early or not).
  const pending = (build.wakes ?? []).filter((w) => w > now && w !== input.wokeFor);
  if (!result.removeBuild && !build.ending) {
    const states = new Map(input.steps);
    for (const d of result.dispatch) states.set(d.step, d.state);
    for (const d of result.drop) if (d.state) states.set(d.step, d.state);
    const due = build.cancel
      ? []
      : [...(build.deadline !== null ? [build.deadline] : []), ...queueDeadlines(build, config, states)];
    const next = due.filter((d) => d > now).reduce<number | null>((a, b) => (a === null ? b : Math.min(a, b)), null);
    if (next !== null && !pending.some((w) => w <= next)) {
      result.wakeAt = next;
      pending.push(next);
    }
  }
  const wakes = pending.sort((a, b) => a - b);
  if (wakes.length || original.wakes) build.wakes = wakes;
  result.changed = JSON.stringify(build) !== JSON.stringify(original);
  return result;
}
