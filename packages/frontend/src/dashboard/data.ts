/**
 * What the pages read, through the same functions the API routes use (`listBuilds`, `readBuild`,
 * `readBuildRecord`, `loadJob`, `loadJobVersion`, `planBuild`, `queueView`, `listWorkers`): no storage
 * code of its own, so a page shows exactly what the API answers.
 */
import {
  type BlobStore,
  type BuildState,
  type BuildView,
  blobKeys,
  type CoordinationStore,
  decodeJson,
  isDistciError,
  listBuilds,
  loadJob,
  loadJobVersion,
  planBuild,
  type QueueView,
  readBuildRecord,
  type StepView,
  zpaths,
} from '@distci/common';

/** 500: a page of job names; more jobs than this are listed page by page. */
const JOB_PAGE = 500;

/** Every job name with a config or builds (a deleted job keeps its versions and builds). */
export async function listJobNames(blob: BlobStore): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await blob.list({
      prefix: blobKeys.jobsPrefix(),
      delimiter: '/',
      limit: JOB_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    for (const p of page.prefixes) names.push(p.slice(blobKeys.jobsPrefix().length, -1));
    cursor = page.cursor ?? undefined;
  } while (cursor);
  return names.sort();
}

/**
 * A job's newest builds, as `GET …/builds` reads them — and like it, never creating anything: a job
 * that never had a build has no counter node (`listBuilds` would create one), so it has none.
 */
export async function jobBuilds(
  store: CoordinationStore,
  blob: BlobStore,
  job: string,
  limit: number,
): Promise<BuildView[]> {
  if ((await store.exists(zpaths.job(job))) === null) return [];
  return (await listBuilds(store, blob, job, { limit })).builds;
}

/** The newest `perJob` builds of each job, newest first overall. */
export async function recentBuilds(
  store: CoordinationStore,
  blob: BlobStore,
  jobs: string[],
  perJob: number,
): Promise<BuildView[]> {
  const lists = await Promise.all(jobs.map((job) => jobBuilds(store, blob, job, perJob)));
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
async function buildShape(store: CoordinationStore, blob: BlobStore, view: BuildView): Promise<StepShape[] | null> {
  try {
    if (!view.live) {
      const record = await readBuildRecord(blob, view.job, view.number);
      return record ? record.steps : null;
    }
    const state = decodeJson<BuildState>((await store.get(zpaths.build(view.job, view.number))).data);
    return planBuild(await loadJobVersion(blob, state.config.key));
  } catch (err) {
    // Archived meanwhile, or a config snapshot gone by retention: the page shows the steps without a graph.
    if (isDistciError(err, 'DISTCI_NO_NODE') || isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

const WAITING = new Set(['queued', 'pending']);

/** Every step of the build, with its shape and, when it waits, why. */
export async function pageSteps(
  store: CoordinationStore,
  blob: BlobStore,
  view: BuildView,
  queue: () => Promise<QueueView>,
): Promise<{ steps: PageStep[]; graph: boolean }> {
  const shape = await buildShape(store, blob, view);
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
    const base: StepView = v ?? {
      id: sh.id,
      status: view.live ? 'pending' : 'skipped',
      attempt: null,
      worker: null,
      queuedAt: view.createdAt,
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      reason: null,
      message: null,
      cacheHit: null,
      commit: null,
      workspace: null,
      artifacts: null,
      logChunks: null,
    };
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
export async function jobConfigOrNull(blob: BlobStore, job: string) {
  try {
    return await loadJob(blob, job);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) return null;
    throw err;
  }
}
