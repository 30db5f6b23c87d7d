/**
 * What a build should do next, from its plan and the states of its steps: a pure function, so every
 * control worker that looks at the same build decides the same thing (invariant 8).
 *
 * - A step with no state yet is *runnable* when every step it needs succeeded, *skipped* when one of
 *   them ended otherwise, and *cancelled* (never started) when the build is being cancelled.
 * - The build is finished when every step is terminal. Its status: `cancelled` if cancelled;
 *   `error` if a step failed for `infrastructure`; `failure` if any step failed (or timed out);
 *   `success` otherwise.
 */
import type { BuildState, BuildStatus, PlannedStep, StepState, StepStatus } from '@distci/common';

export interface AdvanceDecision {
  runnable: PlannedStep[];
  /** Steps that will never run, and why. */
  settle: Array<{ step: PlannedStep; status: Extract<StepStatus, 'skipped' | 'cancelled'> }>;
  finished: boolean;
  status: Exclude<BuildStatus, 'queued' | 'running'> | null;
}

const TERMINAL: ReadonlySet<StepStatus> = new Set(['success', 'failure', 'skipped', 'cancelled']);

export function decideAdvance(
  plan: PlannedStep[],
  states: ReadonlyMap<string, StepState>,
  build: BuildState,
): AdvanceDecision {
  const status = new Map<string, StepStatus>();
  for (const [id, s] of states) status.set(id, s.status);
  const runnable: PlannedStep[] = [];
  const settle: AdvanceDecision['settle'] = [];
  // Plans are in config order and needs point backwards or forwards; iterate to a fixed point so a
  // skip propagates down a chain in one decision.
  let changed = true;
  while (changed) {
    changed = false;
    for (const step of plan) {
      if (status.has(step.id)) continue;
      if (build.cancel) {
        status.set(step.id, 'cancelled');
        settle.push({ step, status: 'cancelled' });
        changed = true;
        continue;
      }
      const needs = step.needs.map((n) => status.get(n));
      if (needs.some((s) => s !== undefined && s !== 'success' && TERMINAL.has(s))) {
        status.set(step.id, 'skipped');
        settle.push({ step, status: 'skipped' });
        changed = true;
      } else if (needs.every((s) => s === 'success') && !runnable.includes(step)) {
        runnable.push(step);
      }
    }
  }
  const finished = runnable.length === 0 && plan.every((s) => TERMINAL.has(status.get(s.id) ?? 'queued'));
  let buildStatus: AdvanceDecision['status'] = null;
  if (finished) {
    const all = [...states.values()];
    if (build.cancel?.reason === 'cancelled') buildStatus = 'cancelled';
    else if (all.some((s) => s.reason === 'infrastructure')) buildStatus = 'error';
    else if (build.cancel || plan.some((s) => status.get(s.id) !== 'success')) buildStatus = 'failure';
    else buildStatus = 'success';
  }
  return { runnable, settle, finished, status: buildStatus };
}
