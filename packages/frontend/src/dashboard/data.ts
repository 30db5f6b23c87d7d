/**
 * What the pages read, through the domain layer the API routes use (`distci.jobs`, `distci.builds`,
 * `distci.tickets`): no storage code of its own, so a page shows exactly what the API answers.
 */
import {
  type BuildView,
  type Distci,
  isDistciError,
  newStepState,
  planBuild,
  type QueueView,
  type StepView,
} from '@distci/common';

/** Every job name with a config or builds (a deleted job keeps its versions and builds). */
export function listJobNames(distci: Distci): Promise<string[]> {
  return distci.jobs.names();
}

/**
 * A job's newest builds, as `GET …/builds` reads them — and like it, never creating anything: a job
 * that never had a build has no counter node, so it has none.
 */
export async function jobBuilds(distci: Distci, job: string, limit: number): Promise<BuildView[]> {
  if ((await distci.jobs.node(job)) === null) return [];
  return (await distci.builds.list(job, { limit })).builds;
}

/** The newest `perJob` builds of each job, newest first overall. */
export async function recentBuilds(distci: Distci, jobs: string[], perJob: number): Promise<BuildView[]> {
  const lists = await Promise.all(jobs.map((job) => jobBuilds(distci, job, perJob)));
  return lists.flat().sort((a, b) => b.createdAt - a.createdAt || (a.job < b.job ? -1 : 1));
}

/** A step as the build page shows it: its view (or `pending` before it is posted) and its place in the graph. */
export interface PageStep extends StepView {
  name: string;
  type: string;
  needs: string[];
  labels: string[];
  matrix: Record<string, string> | null;
  /** Why it does not run yet (queued: from the queue view; pending: its needs). */
  waitReason: string | null;
}

interface StepShape {
  id: string;
  name: string;
  type: string;
  needs: string[];
  labels: string[];
  matrix: Record<string, string> | null;
}

/** The build's planned steps: from its archived record, or the config version a live build runs. */
async function buildShape(distci: Distci, view: BuildView): Promise<StepShape[] | null> {
  try {
    if (!view.live) {
      const record = await distci.builds.record(view.job, view.number);
      return record ? record.steps : null;
    }
    const live = await distci.builds.state(view.job, view.number);
    if (!live) return null; // archived meanwhile
    return planBuild(await distci.jobs.loadVersion(live.state.config.key));
  } catch (err) {
    // Archived meanwhile, or a config snapshot gone by retention: the page shows the steps without a graph.
    if (isDistciError(err, 'DISTCI_NO_NODE') || isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

const WAITING = new Set(['queued', 'pending']);

/** Every step of the build, with its shape and, when it waits, why. */
export async function pageSteps(
  distci: Distci,
  view: BuildView,
  queue: () => Promise<QueueView>,
): Promise<{ steps: PageStep[]; graph: boolean }> {
  const shape = await buildShape(distci, view);
  const byId = new Map(view.steps.map((s) => [s.id, s]));
  const steps: PageStep[] = [];
  const shapes =
    shape ??
    view.steps.map((s) => ({
      id: s.id,
      name: s.id.replace(/\[.*$/, ''),
      type: '',
      needs: [],
      labels: [],
      matrix: null,
    }));
  for (const sh of shapes) {
    const v = byId.get(sh.id);
    const { v: _version, ...blank } = newStepState(view.createdAt);
    const base: StepView = v ?? { ...blank, id: sh.id, status: view.live ? 'pending' : 'skipped' };
    steps.push({
      ...base,
      name: sh.name,
      type: sh.type,
      needs: sh.needs,
      labels: sh.labels,
      matrix: sh.matrix,
      waitReason: null,
    });
  }
  for (const v of view.steps)
    if (!steps.some((s) => s.id === v.id))
      steps.push({ ...v, name: v.id, type: '', needs: [], labels: [], matrix: null, waitReason: null });

  if (view.live && steps.some((s) => WAITING.has(s.status))) {
    const q = steps.some((s) => s.status === 'queued') ? await queue() : null;
    const status = new Map(steps.map((s) => [s.id, s.status]));
    for (const s of steps) {
      if (s.status === 'pending') {
        const open = s.needs.filter((n) => status.get(n) !== 'success');
        s.waitReason = open.length ? `needs: ${open.join(', ')}` : 'about to be queued';
      } else if (s.status === 'queued' && q) {
        const labels = [...s.labels].sort().join(',');
        const entry = q.queues.find((e) => e.kind === s.type && [...e.labels].sort().join(',') === labels);
        s.waitReason = entry?.reason ?? (entry ? 'being claimed' : `waiting for a ${s.type || 'worker'} ticket`);
      }
    }
  }
  return { steps, graph: shape !== null };
}

/** Failures first, then running, waiting, the rest — each group in plan order. */
export function failuresFirst(steps: PageStep[]): PageStep[] {
  const rank: Record<string, number> = { failure: 0, cancelled: 1, running: 2, queued: 3, pending: 4 };
  return steps
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (rank[a.s.status] ?? 5) - (rank[b.s.status] ?? 5) || a.i - b.i)
    .map(({ s }) => s);
}

/** A job's config, or null when it was deleted (its builds stay). */
export async function jobConfigOrNull(distci: Distci, job: string) {
  try {
    return await distci.jobs.load(job);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) return null;
    throw err;
  }
}
