/**
 * Turns a validated job config into a build plan: one planned step per step, a matrix expanded to one
 * step per combination (`test[cc=gcc]`, keys in the order written), `needs` resolved to planned step
 * ids (needing a matrix step means needing every one of its combinations). Deterministic: the same
 * config always gives the same plan, so a resumed control worker posts the same tickets (invariant 8).
 */
import { parseDuration } from './duration.js';
import type { JobConfig, StepConfig, StepType } from './job-config.js';

export interface PlannedStep {
  /** Unique in the build: the step name, plus `[k=v,…]` for a matrix combination. */
  id: string;
  /** The step's name in the config. */
  name: string;
  /** Index of the step in `job.steps`. */
  index: number;
  type: StepType;
  needs: string[];
  matrix: Record<string, string> | null;
  labels: string[];
  timeoutMs: number | null;
  /** Job env, then step env, then matrix values. */
  env: Record<string, string>;
}

function combinations(matrix: Record<string, string[]>): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    out = out.flatMap((combo) => values.map((v) => ({ ...combo, [key]: v })));
  }
  return out;
}

function expand(step: StepConfig): Array<{ id: string; matrix: Record<string, string> | null }> {
  if (step.type !== 'exec-shell' || !step.matrix) return [{ id: step.name, matrix: null }];
  return combinations(step.matrix).map((combo) => ({
    id: `${step.name}[${Object.entries(combo)
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}]`,
    matrix: combo,
  }));
}

export function planBuild(job: JobConfig): PlannedStep[] {
  const idsByName = new Map(job.steps.map((s) => [s.name, expand(s).map((e) => e.id)]));
  return job.steps.flatMap((step, index) =>
    expand(step).map(({ id, matrix }) => ({
      id,
      name: step.name,
      index,
      type: step.type,
      needs: (step.needs ?? []).flatMap((n) => idsByName.get(n) ?? []),
      matrix,
      labels: step.type === 'exec-shell' ? [...(step.labels ?? [])].sort() : [],
      timeoutMs: step.timeout ? parseDuration(step.timeout, `steps[${index}].timeout`) : null,
      env: { ...(job.env ?? {}), ...(step.env ?? {}), ...(matrix ?? {}) },
    })),
  );
}
