/**
 * Which downstream builds a finished build fires (`triggers.after` of other jobs), as a pure
 * function. Bounded at run time (issue 13, hole 5; save time refuses cycles, see
 * `jobs/trigger-cycles.ts`): a chain of `after` links is at most `MAX_TRIGGER_DEPTH` builds long, and one
 * build fires at most `MAX_TRIGGER_FANOUT` downstream builds — so a cycle that slipped past the save
 * check (two saves racing) or a wide fan-out cannot run away.
 */
import type { JobConfig } from '../jobs/job-config.js';
import type { FinalStatus } from './advance-build.js';
import type { BuildState, TriggerInfo } from './build-state.js';

/** 16: deeper chains of `after` triggers than any pipeline we know of (lib → app → deploy → … ). */
export const MAX_TRIGGER_DEPTH = 16;
/** 32 downstream builds per finished build: also keeps the ending transaction small (~0.5 KiB each). */
export const MAX_TRIGGER_FANOUT = 32;

export interface DownstreamCandidate {
  job: string;
  config: JobConfig;
}

export interface DownstreamDecision {
  fire: Array<{ job: string; trigger: Extract<TriggerInfo, { type: 'after' }> }>;
  refused: Array<{ job: string; why: string }>;
}

/** The depth of a build's trigger chain: 0 unless an `after` trigger started it. */
export function triggerDepth(trigger: TriggerInfo): number {
  return trigger.type === 'after' ? (trigger.depth ?? 1) : 0;
}

export function downstreamTriggers(
  build: Pick<BuildState, 'job' | 'number' | 'trigger'>,
  status: FinalStatus,
  candidates: readonly DownstreamCandidate[],
): DownstreamDecision {
  const decision: DownstreamDecision = { fire: [], refused: [] };
  const depth = triggerDepth(build.trigger) + 1;
  const outcome = status === 'success' ? 'success' : 'failure';
  for (const c of [...candidates].sort((a, b) => (a.job < b.job ? -1 : a.job > b.job ? 1 : 0))) {
    if (c.job === build.job) continue; // a job triggering itself would loop forever
    const wants = (c.config.triggers?.after ?? []).some(
      (a) => a.job === build.job && ((a.on ?? 'success') === 'always' || (a.on ?? 'success') === outcome),
    );
    if (!wants) continue;
    if (depth > MAX_TRIGGER_DEPTH) {
      decision.refused.push({
        job: c.job,
        why: `the chain of after triggers is ${depth} builds long; at most ${MAX_TRIGGER_DEPTH}`,
      });
    } else if (decision.fire.length >= MAX_TRIGGER_FANOUT) {
      decision.refused.push({ job: c.job, why: `one build fires at most ${MAX_TRIGGER_FANOUT} downstream builds` });
    } else {
      // Depth 1 is left out: a record of a first link reads as it always did.
      const trigger = { type: 'after' as const, job: build.job, build: build.number, status };
      decision.fire.push({ job: c.job, trigger: depth > 1 ? { ...trigger, depth } : trigger });
    }
  }
  return decision;
}
