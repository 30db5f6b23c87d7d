/**
 * Trigger a build: give it the job's next number and post its control ticket, in one transaction.
 *
 * Why a counter in the job node and not a sequential node (DESIGN.md's recommendation): the build and
 * its control ticket must appear together (invariant 1: a build that exists always has a ticket that
 * will advance it), and no op of a `multi` can name the path a sequential create in the same `multi`
 * will get. So the number comes from a compare-and-set of `/jobs/<job>`'s counter inside that
 * transaction: unique and increasing under any number of concurrent triggers and frontends
 * (invariant 5) — a loser of the race gets DISTCI_BAD_VERSION, re-reads and tries the next number.
 * The counter never decreases, also after builds are archived and their nodes removed.
 *
 * Input: the job, the config version to run, why, what ref. Output: the build number.
 * Writes: one multi (set counter, create build node and its steps parent, create control ticket).
 *
 * `seedSteps` (a retry, see `retry-build.ts`): step states created in that same multi, so the build
 * starts with those steps already finished — the control worker treats a step that has a node as done
 * and never posts it. Atomic with the trigger: a retried build never runs a step it was meant to copy.
 */
import type { CoordinationStore, Op } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { isDistciError } from '../errors.js';
import { zpaths } from '../keys.js';
import { ensureOnce, prepareTicketOps } from '../tickets/post-ticket.js';
import {
  type BuildState,
  type ControlPayload,
  decodeJson,
  encodeJson,
  type JobNode,
  type StepState,
  type TriggerInfo,
} from './build-state.js';

export interface TriggerRequest {
  job: string;
  config: { key: string; etag: string };
  trigger: TriggerInfo;
  ref: string | null;
  commit?: string | null;
  params?: Record<string, string>;
  priority?: number;
  /** Step id → state: steps created finished in the trigger's transaction (retry). */
  seedSteps?: Record<string, StepState>;
}

export const newJobNode = (): JobNode => ({ v: 1, nextBuild: 1, lastSuccessful: null, lastFinished: null });

/** Reads a job's counter node (creating it when missing); returns it with its version. */
export async function readJobNode(store: CoordinationStore, job: string): Promise<{ node: JobNode; version: number }> {
  const path = zpaths.job(job);
  for (;;) {
    try {
      const { data, stat } = await store.get(path);
      return { node: data.length ? decodeJson<JobNode>(data, 'a job node') : newJobNode(), version: stat.version };
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
    }
    await store.ensurePath(zpaths.jobs());
    try {
      await store.create(path, encodeJson(newJobNode()));
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_NODE_EXISTS')) throw err;
    }
  }
}

/**
 * The ops that trigger a build of `req.job` given its counter node as read (`node`, `version`): for a
 * caller composing a bigger transaction (the control worker fires `after` triggers in the same
 * transaction that ends the upstream build). `/jobs/<job>/builds` must exist.
 */
export async function triggerOps(
  store: CoordinationStore,
  req: TriggerRequest,
  node: JobNode,
  version: number,
  now = Date.now(),
  caches?: DomainCaches,
): Promise<{ ops: Op[]; number: number }> {
  const number = node.nextBuild;
  const state: BuildState = {
    v: 1,
    job: req.job,
    number,
    status: 'queued',
    config: req.config,
    trigger: req.trigger,
    ref: req.ref,
    commit: req.commit ?? null,
    params: req.params ?? {},
    createdAt: now,
    startedAt: null,
    deadline: null,
    cancel: null,
    ...(req.priority !== undefined ? { priority: req.priority } : {}),
  };
  const control: ControlPayload = { op: 'start', job: req.job, build: number };
  const ticket = await prepareTicketOps(store, [{ kind: 'control', payload: control, priority: req.priority }], caches);
  const buildPath = zpaths.build(req.job, number);
  return {
    number,
    ops: [
      { type: 'set', path: zpaths.job(req.job), data: encodeJson({ ...node, nextBuild: number + 1 }), version },
      { type: 'create', path: buildPath, data: encodeJson(state) },
      { type: 'create', path: zpaths.steps(req.job, number) },
      ...Object.entries(req.seedSteps ?? {}).map(
        ([id, seed]): Op => ({
          type: 'create',
          path: zpaths.step(req.job, number, id),
          data: encodeJson(seed),
        }),
      ),
      ...ticket,
    ],
  };
}

/**
 * Triggers of one job from one process, one after the other: every trigger in flight reads the same
 * counter version and all but one lose the compare-and-set, so N triggers at once cost ~N²/2 failed
 * write transactions (measured: 200 at once through one frontend, 16,889 failed multis, 15.6 s to
 * accept them; bench/README.md, figure 4). In turn, each reads the version the previous one wrote and
 * wins at once. Across processes the compare-and-set still decides (invariant 5). The queues are the
 * domain's (`DomainCaches.triggerQueues`); without caches each trigger just runs.
 */
function inTurn<T>(caches: DomainCaches | undefined, job: string, fn: () => Promise<T>): Promise<T> {
  if (!caches) return fn();
  const queues = caches.triggerQueues;
  const previous = queues.get(job) ?? Promise.resolve();
  const mine = previous.catch(() => {}).then(fn);
  const tail = mine.catch(() => {});
  queues.set(job, tail);
  void tail.then(() => {
    if (queues.get(job) === tail) queues.delete(job);
  });
  return mine;
}

/** Triggers a build; returns its number. Retries the counter race until it wins. */
export async function triggerBuild(
  store: CoordinationStore,
  req: TriggerRequest,
  caches?: DomainCaches,
): Promise<number> {
  // `/jobs/<job>/builds` is never removed: ensured once per process with the domain's caches.
  await ensureOnce(store, [zpaths.builds(req.job)], caches);
  return inTurn(caches, req.job, async () => {
    for (;;) {
      const { node, version } = await readJobNode(store, req.job);
      const { ops, number } = await triggerOps(store, req, node, version, Date.now(), caches);
      try {
        await store.multi(ops);
        return number;
      } catch (err) {
        const index = (err as { details?: { opIndex?: unknown } }).details?.opIndex;
        if (index === 0 && isDistciError(err, 'DISTCI_BAD_VERSION')) continue; // another trigger won this number
        throw err;
      }
    }
  });
}
