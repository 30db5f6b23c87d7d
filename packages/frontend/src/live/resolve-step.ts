/**
 * A step of a build as the log routes need it: its view (status, committed or running attempt, log
 * chunk count) and where its log is. A step copied into a retried build (`copiedFrom`) has its log in
 * the build that ran it.
 *
 * A live build lists only the steps posted so far; a step of its plan that has not been posted yet is
 * returned as `step: null` (it may still run), and an id that is not in the plan at all is
 * DISTCI_STEP_NOT_FOUND — found from the build's immutable config snapshot, read only in that case.
 */
import { type BuildView, type Distci, distciError, planBuild, type StepView } from '@distci/common';

export const TERMINAL_STEP: ReadonlySet<string> = new Set(['success', 'failure', 'skipped', 'cancelled']);

export interface ResolvedStep {
  view: BuildView;
  step: StepView | null;
  /** The build whose log keys hold this step's chunks. */
  logBuild: number;
}

function notFound(job: string, number: number, step: string, ids: string[]) {
  return distciError('DISTCI_STEP_NOT_FOUND', `build ${number} of '${job}' has no step '${step}'`, {
    hint: `steps are: ${ids.join(', ') || '(none)'}`,
    details: { job, build: number, step },
  });
}

export async function resolveStep(distci: Distci, job: string, number: number, step: string): Promise<ResolvedStep> {
  const view = await distci.builds.read(job, number);
  const found = view.steps.find((s) => s.id === step) ?? null;
  if (found) return { view, step: found, logBuild: found.copiedFrom ?? number };
  if (!view.live)
    throw notFound(
      job,
      number,
      step,
      view.steps.map((s) => s.id),
    );
  const live = await distci.builds.state(job, number);
  // Archived between the two reads: read it again, now from the record.
  if (!live) return resolveStep(distci, job, number, step);
  const ids = planBuild(await distci.jobs.loadVersion(live.state.config.key)).map((s) => s.id);
  if (!ids.includes(step)) throw notFound(job, number, step, ids);
  return { view, step: null, logBuild: number };
}

/** An attempt the step has not had (yet) has no log: 404 `DISTCI_ATTEMPT_NOT_FOUND`, not an empty 200. */
export function assertAttempt(resolved: ResolvedStep, job: string, n: number, step: string, pinned?: number): void {
  const attempts = resolved.step?.attempt ?? 0;
  if (pinned !== undefined && pinned > attempts) {
    throw distciError('DISTCI_ATTEMPT_NOT_FOUND', `step '${step}' of build ${n} has no attempt ${pinned}`, {
      hint: attempts ? `its attempts are 1-${attempts}` : 'it has not started yet',
      details: { job, build: n, step, attempt: pinned, attempts },
    });
  }
}
