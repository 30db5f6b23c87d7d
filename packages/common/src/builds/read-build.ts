/**
 * Reading builds, live or archived — the same view either way, so any frontend answers any request
 * the same (invariant 7):
 * - a running build is read from the coordination store (build node + step states; a queued step
 *   whose ticket is claimed shows as `running`, from its claim, without any extra write);
 * - a finished one from its archived record in the object store.
 * Build numbers are contiguous (a counter), so listing newest first walks numbers down from the
 * job's counter: `limit` reads per page, no object-store listing.
 */
import type { BlobStore } from '../blob-store.js';
import { childrenOrEmpty, orNullOnNoNode } from '../children-or-empty.js';
import type { CoordinationStore } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { distciError, isDistciError } from '../errors.js';
import { parseRecord } from '../format-version.js';
import { blobKeys, zpaths } from '../keys.js';
import type { BuildView, StepView } from '../schemas/build-view.js';
import { listWorkers } from '../tickets/presence.js';
import { whyWaiting } from '../tickets/queue-view.js';
import { WORKER_KINDS } from '../types.js';
import type { BuildRecord } from './build-record.js';
import { decodeJson, type StepState } from './build-state.js';
import { readBuildState } from './build-state-node.js';
import { groupWaiting } from './concurrency-group.js';
import { readJobNode } from './trigger-build.js';

export type { BuildView, StepView };

async function readJson<T>(blob: BlobStore, key: string): Promise<T> {
  const { body } = await blob.get(key);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return parseRecord<T>(Buffer.concat(chunks), key);
}

function fromRecord(r: BuildRecord): BuildView {
  return {
    job: r.job,
    number: r.number,
    status: r.status,
    live: false,
    trigger: r.trigger,
    ref: r.ref,
    commit: r.commit,
    params: r.params,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    cancel: r.cancel,
    ...(r.error ? { error: r.error } : {}),
    steps: r.steps.map(({ name: _n, type: _t, needs: _d, matrix: _m, labels: _l, ...s }) => s),
  };
}

interface ClaimData {
  worker: string;
  startedAt: number;
  attempt: number;
  payload: unknown;
}

/** Every live claim of the step kinds (what runs now, anywhere). */
async function liveClaims(store: CoordinationStore): Promise<ClaimData[]> {
  const out: ClaimData[] = [];
  await Promise.all(
    WORKER_KINDS.filter((k) => k !== 'control').map(async (kind) => {
      const names = await childrenOrEmpty(store, zpaths.claimKind(kind));
      await Promise.all(
        names.map(async (n) => {
          try {
            out.push(decodeJson<ClaimData>((await store.get(zpaths.claimNamed(kind, n))).data, 'a claim node'));
          } catch (err) {
            if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
          }
        }),
      );
    }),
  );
  return out;
}

/** The archived record of a finished build, or null. */
export async function readBuildRecord(blob: BlobStore, job: string, number: number): Promise<BuildRecord | null> {
  try {
    return await readJson<BuildRecord>(blob, blobKeys.build(job, number));
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

/** A live build's view, or null when it has no node (finished, or never existed). */
export async function readLiveBuild(store: CoordinationStore, job: string, number: number): Promise<BuildView | null> {
  const read = await orNullOnNoNode(async () => {
    const found = await readBuildState(store, job, number);
    return found && { state: found.state, names: await store.children(zpaths.steps(job, number)) };
  });
  if (!read) return null;
  const { state, names } = read;
  const steps: StepView[] = [];
  const queues = new Map<string, NonNullable<StepState['queue']>>();
  await Promise.all(
    names.map(async (id) => {
      try {
        const { data } = await store.get(zpaths.step(job, number, id));
        const { v: _v, queue, ...s } = decodeJson<StepState>(data, 'a step state node');
        if (queue && s.status === 'queued') queues.set(id, queue);
        steps.push({ id, ...s });
      } catch (err) {
        if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
      }
    }),
  );
  if (steps.some((s) => s.status === 'queued')) {
    for (const claim of await liveClaims(store)) {
      const p = claim.payload as { job?: unknown; build?: unknown; step?: unknown } | null;
      const step = steps.find((s) => p?.job === job && p.build === number && s.id === p.step && s.status === 'queued');
      if (step)
        Object.assign(step, {
          status: 'running',
          worker: claim.worker,
          startedAt: claim.startedAt,
          attempt: claim.attempt,
        });
    }
  }
  // Why each step still queued (not claimed) waits: the queue view's words for its queue.
  const unclaimed = steps.filter((s) => s.status === 'queued' && queues.has(s.id));
  if (unclaimed.length) {
    const workers = await listWorkers(store);
    for (const s of unclaimed) {
      const q = queues.get(s.id)!;
      const why = whyWaiting(q.kind, q.labels, workers);
      s.waiting = why === 'being claimed' ? 'a worker is about to claim it' : why;
    }
  }
  steps.sort((a, b) => a.queuedAt - b.queuedAt || (a.id < b.id ? -1 : 1));
  return {
    job,
    number,
    status: state.status,
    live: true,
    trigger: state.trigger,
    ref: state.ref,
    commit: state.commit ?? steps.find((s) => s.commit)?.commit ?? null,
    params: state.params,
    createdAt: state.createdAt,
    startedAt: state.startedAt,
    finishedAt: null,
    cancel: state.cancel,
    ...(groupWaiting(state) ? { waiting: groupWaiting(state)! } : {}),
    steps,
  };
}

/**
 * Archived records already read, in the domain's caches (`DomainCaches.archived`, one per opened
 * `Distci`, so per cluster and key prefix). A record read after
 * the build's node was seen gone is final: the control worker writes it before it removes the node,
 * nothing writes it after (a ticket of an archived build is dropped), and build numbers are never
 * reused. So it is answered again from memory, without the coordination read (a NoNode) and the object
 * GET, which were ~half of a frontend's CPU per `GET …/builds/:n` (bench/README.md, figure 7). Every
 * frontend still answers the same (invariant 7). Bounds: 1,000 records (a few KiB each), each kept 5 min
 * (a limit on staleness should a bucket ever be rewritten behind distci's back).
 */
const ARCHIVED_MAX = 1000;
const ARCHIVED_TTL_MS = 5 * 60_000;
function archivedRecord(cache: DomainCaches['archived'] | undefined, key: string): BuildRecord | null {
  const hit = cache?.get(key);
  if (!cache || !hit) return null;
  cache.delete(key);
  if (hit.until < Date.now()) return null;
  cache.set(key, hit); // most recently used last
  return hit.record;
}

function keepArchived(cache: DomainCaches['archived'] | undefined, key: string, record: BuildRecord): void {
  if (!cache) return;
  cache.set(key, { record, until: Date.now() + ARCHIVED_TTL_MS });
  if (cache.size > ARCHIVED_MAX) cache.delete(cache.keys().next().value!);
}

/**
 * A build, live or archived; DISTCI_BUILD_NOT_FOUND when neither. The live node is read first and the
 * record second: a build archived in between is found by the second read. An archived build read
 * before is answered from memory (see `archived`).
 */
export async function readBuild(
  store: CoordinationStore,
  blob: BlobStore,
  job: string,
  number: number,
  caches?: DomainCaches,
): Promise<BuildView> {
  const key = `${job}/${number}`;
  const known = archivedRecord(caches?.archived, key);
  if (known) return fromRecord(known);
  const live = await readLiveBuild(store, job, number);
  if (live) return live;
  const record = await readBuildRecord(blob, job, number);
  if (record) {
    keepArchived(caches?.archived, key, record);
    return fromRecord(record);
  }
  throw distciError('DISTCI_BUILD_NOT_FOUND', `job '${job}' has no build ${number}`, {
    hint: `list its builds with GET /api/v1/jobs/${job}/builds`,
    details: { job, build: number },
  });
}

/** Builds of a job, newest first: numbers below `before` (default: all), at most `limit`. */
export async function listBuilds(
  store: CoordinationStore,
  blob: BlobStore,
  job: string,
  options: { before?: number; limit?: number } = {},
  caches?: DomainCaches,
): Promise<{ builds: BuildView[]; next: number | null }> {
  const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
  const { node } = await readJobNode(store, job);
  const top = Math.min(node.nextBuild, options.before ?? node.nextBuild) - 1;
  const numbers: number[] = [];
  for (let n = top; n >= 1 && numbers.length < limit; n--) numbers.push(n);
  const views = await Promise.all(
    numbers.map((n) =>
      readBuild(store, blob, job, n, caches).catch((err) => {
        if (isDistciError(err, 'DISTCI_BUILD_NOT_FOUND')) return null; // removed by retention
        throw err;
      }),
    ),
  );
  const last = numbers[numbers.length - 1];
  return {
    builds: views.filter((v): v is BuildView => v !== null),
    next: last !== undefined && last > 1 ? last : null,
  };
}
