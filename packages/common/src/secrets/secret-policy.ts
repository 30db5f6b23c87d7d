/**
 * Which secrets a step gets. Like GitHub Actions: a build of a pull request from a fork runs code
 * anyone could have written, so it gets no secrets at all (and a retry of such a build neither);
 * every other build's exec-shell step gets the secrets its job and the step itself ask for.
 */
import type { TriggerInfo } from '../builds/build-state.js';
import type { JobConfig, StepConfig } from '../jobs/job-config.js';

export function withholdsSecrets(trigger: TriggerInfo): boolean {
  return (trigger.type === 'github' || trigger.type === 'retry') && trigger.fork === true;
}

/** The secret names a step asks for: the job's, then the step's own (exec-shell steps only). */
export function secretNamesOf(job: JobConfig, step: StepConfig): string[] {
  if (step.type !== 'exec-shell') return [];
  return [...new Set([...(job.secrets ?? []), ...(step.secrets ?? [])])];
}
