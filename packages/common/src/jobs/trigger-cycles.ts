/**
 * Refuse `after` trigger cycles at save time (issue 13, hole 5): job A `after` B and B `after` A
 * would trigger each other forever (measured before this check: 250 builds in 12 s).
 *
 * The graph is the coordination store's reverse index (`/jobs/<upstream>/downstream/<job>`, kept by
 * `saveJob`/`deleteJob`): saving job J with upstreams U closes a cycle exactly when some u in U is
 * reachable from J along downstream edges — then u → J closes it. Breadth-first from J, so the cycle
 * named is a shortest one. Two saves racing can still both pass; the run-time bound on a chain's depth
 * (`builds/downstream-triggers.ts`) stops what slips through.
 */
import { distciError } from '../errors.js';
import type { JobConfig } from './job-config.js';

/** The jobs with an `after` trigger on a job (`downstreamJobs` over a store). */
export type DownstreamOf = (job: string) => Promise<string[]>;

/** 10,000 jobs visited at most: far more than a CI installation has; bounds a save's reads. */
const MAX_VISITED = 10_000;

/** The cycle `[J, …, u, J]` that saving `config` would close, or null. */
export async function findTriggerCycle(downstreamOf: DownstreamOf, config: JobConfig): Promise<string[] | null> {
  const job = config.name;
  const upstreams = new Set((config.triggers?.after ?? []).map((a) => a.job));
  if (upstreams.has(job)) return [job, job];
  if (upstreams.size === 0) return null;
  const parent = new Map<string, string | null>([[job, null]]);
  let frontier = [job];
  while (frontier.length > 0 && parent.size < MAX_VISITED) {
    const next: string[] = [];
    for (const from of frontier) {
      // The index as saved; J's own entries are about to change, so its old downstream edges still count
      // (they are not touched by saving J: only J's upstream edges are).
      for (const to of (await downstreamOf(from)).sort()) {
        if (parent.has(to)) continue;
        parent.set(to, from);
        if (upstreams.has(to)) {
          const path = [to];
          for (let at = parent.get(to); at !== null && at !== undefined; at = parent.get(at)) path.unshift(at);
          return [...path, job];
        }
        next.push(to);
      }
    }
    frontier = next;
  }
  return null;
}

/** Throws DISTCI_TRIGGER_CYCLE naming the cycle when saving `config` would close one. */
export async function assertNoTriggerCycle(downstreamOf: DownstreamOf, config: JobConfig): Promise<void> {
  const cycle = await findTriggerCycle(downstreamOf, config);
  if (!cycle) return;
  const message =
    cycle.length === 2
      ? `job '${config.name}' cannot be triggered after itself`
      : `triggers.after would close a cycle: ${cycle.join(' → ')} (each job triggers the next after it ends)`;
  throw distciError('DISTCI_TRIGGER_CYCLE', message, {
    hint: 'remove one of these after triggers',
    details: { cycle },
  });
}
