/**
 * One control turn of a build: read → `advanceBuild` (pure) → the writes it implies. The control
 * worker's handler is only this call; it applies the returned ops and successors in the transaction
 * that completes its control ticket, so a turn either happens whole or not at all.
 *
 * Invariants kept (DistCI's build-control kept state in memory, and its crash hung the build):
 * - Nothing in memory: every turn is recomputed from the build node, the step nodes and the immutable
 *   config snapshot. Re-running a turn is harmless.
 * - Deterministic ids: a step's node is `.../steps/<step id>`, created in the transaction that posts
 *   its ticket, so two control workers cannot both post a step — the second fails on NodeExists,
 *   changes nothing, and its ticket is released to look again (NodeExists = already done).
 * - A build ends in one transaction: the record is written to the object store first (same bytes if
 *   written twice), then its nodes are removed, the job counters updated and the downstream builds
 *   triggered together — a crash can neither end a build without firing its downstream builds nor
 *   fire them twice. A build too big to remove at once is marked `ending` and removed over turns.
 * - Every transaction fits: a turn writes at most `TURN_BUDGET_BYTES` (see `txn-budget.ts`).
 * - A build of a concurrency group joins it before it starts and leaves it in its ending transaction
 *   (`concurrency-group.ts`): at most one build of a group runs.
 * - A webhook's build writes its commit status to its outbox in the turn that starts it and in the
 *   transaction that ends it (`commit-status.ts`), with the ticket that posts it.
 */
import type { BlobStore } from '../blob-store.js';
import type { CoordinationStore, Op } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import type { JobConfig } from '../jobs/job-config.js';
import { downstreamJobs, loadJob } from '../jobs/job-store.js';
import { type PlannedStep, planBuild } from '../jobs/plan-build.js';
import { blobKeys, zpaths } from '../keys.js';
import { decodeTicket, type TicketSpec } from '../tickets/ticket.js';
import { type AdvanceResult, advanceBuild, buildRecordOf, needsWaiting } from './advance-build.js';
import type { BuildRecord } from './build-record.js';
import { type BuildState, type ControlPayload, decodeJson, encodeJson, type StepState } from './build-state.js';
import { endStatusOps, startStatus } from './commit-status.js';
import { groupGate, leaveGroupOps } from './concurrency-group.js';
import { type DownstreamCandidate, downstreamTriggers } from './downstream-triggers.js';
import { advanceTicket, type StepPayload, stepPath } from './step-ticket.js';
import { readJobNode, triggerOps } from './trigger-build.js';

export interface ControlTurnInput {
  store: CoordinationStore;
  blob: BlobStore;
  /** The job config snapshot at a key (cached by the caller: snapshots never change). */
  loadConfig: (key: string) => Promise<JobConfig>;
  payload: ControlPayload;
  now?: number;
}

/** What the control ticket's finishing transaction applies. */
export interface ControlTurn {
  ops: Op[];
  successors: TicketSpec[];
}

const stepsParent = (build: BuildState) => `${zpaths.build(build.job, build.number)}/steps`;

async function readBuild(store: CoordinationStore, job: string, n: number) {
  try {
    const read = await store.get(zpaths.build(job, n));
    return { build: decodeJson<BuildState>(read.data, 'a build state node'), version: read.stat.version };
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) return null; // archived already
    throw err;
  }
}

async function readSteps(store: CoordinationStore, build: BuildState): Promise<Map<string, StepState>> {
  const parent = stepsParent(build);
  let names: string[] = [];
  try {
    names = await store.children(parent);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
  }
  const states = new Map<string, StepState>();
  await Promise.all(
    names.map(async (n) => {
      try {
        states.set(n, decodeJson<StepState>((await store.get(`${parent}/${n}`)).data, 'a step state node'));
      } catch (err) {
        if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
      }
    }),
  );
  return states;
}

/**
 * The unclaimed tickets of this build's queued steps, by step id. Only read when a turn needs it (a
 * cancel, a queue timeout due), and only in the queues those steps were posted to.
 */
async function readWaitingTickets(
  store: CoordinationStore,
  build: BuildState,
  plan: PlannedStep[],
  steps: ReadonlyMap<string, StepState>,
): Promise<Map<string, { path: string; version: number }>> {
  const queues = new Set<string>();
  for (const p of plan) {
    if (steps.get(p.id)?.status === 'queued') queues.add(zpaths.ticketQueue(p.type, p.labels));
  }
  const waiting = new Map<string, { path: string; version: number }>();
  for (const queue of queues) {
    let names: string[] = [];
    try {
      names = await store.children(queue);
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
    }
    await Promise.all(
      names.map(async (name) => {
        const path = `${queue}/${name}`;
        try {
          const { data, stat } = await store.get(path);
          const ticket = decodeTicket(data, path);
          const p = ticket.payload as Partial<StepPayload>;
          if (p.job !== build.job || p.build !== build.number || ticket.state !== 'waiting' || !p.step) return;
          waiting.set(p.step, { path, version: stat.version });
        } catch (err) {
          if (!isDistciError(err)) throw err; // gone or unreadable meanwhile: not ours to drop
        }
      }),
    );
  }
  return waiting;
}

/** Deletes of the delayed control tickets still to come for this build (at the times in `wakes`). */
async function pendingWakeOps(store: CoordinationStore, build: BuildState): Promise<Op[]> {
  const due = new Set(build.wakes ?? []);
  if (due.size === 0) return [];
  const queue = zpaths.ticketQueue('control', []);
  let names: string[] = [];
  try {
    names = await store.children(queue);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
  }
  const ops: Op[] = [];
  for (const name of names) {
    const parsed = zpaths.parseTicketName(name);
    if (!parsed || !due.has(parsed.postedAt)) continue;
    try {
      const { data, stat } = await store.get(`${queue}/${name}`);
      const p = decodeTicket(data, `${queue}/${name}`).payload as Partial<ControlPayload>;
      if (p.op === 'wake' && p.job === build.job && p.build === build.number) {
        ops.push({ type: 'delete', path: `${queue}/${name}`, version: stat.version });
      }
    } catch (err) {
      if (!isDistciError(err)) throw err;
    }
  }
  return ops;
}

/**
 * The ops that remove a build's node and fire what follows its end: job counters, downstream builds
 * (bounded: `downstream-triggers.ts`), and the deletes of its delayed control tickets.
 */
async function endingOps(
  store: CoordinationStore,
  blob: BlobStore,
  build: BuildState,
  version: number,
  status: BuildRecord['status'],
): Promise<Op[]> {
  const ops: Op[] = [
    { type: 'delete', path: stepsParent(build) },
    { type: 'delete', path: zpaths.build(build.job, build.number), version },
  ];
  ops.push(...(await pendingWakeOps(store, build)));
  ops.push(...(await leaveGroupOps(store, build)));
  ops.push(...(await endStatusOps(store, build, status)));
  const { node, version: jobVersion } = await readJobNode(store, build.job);
  ops.push({
    type: 'set',
    path: zpaths.job(build.job),
    data: encodeJson({
      ...node,
      lastFinished: Math.max(node.lastFinished ?? 0, build.number),
      lastSuccessful: status === 'success' ? Math.max(node.lastSuccessful ?? 0, build.number) : node.lastSuccessful,
    }),
    version: jobVersion,
  });
  const candidates: DownstreamCandidate[] = [];
  const versions = new Map<string, { key: string; etag: string }>();
  for (const job of await downstreamJobs(store, build.job)) {
    try {
      const stored = await loadJob(blob, job);
      candidates.push({ job, config: stored.config });
      versions.set(job, stored.version);
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_JOB_NOT_FOUND')) throw err;
    }
  }
  for (const { job, trigger } of downstreamTriggers(build, status, candidates).fire) {
    const config = candidates.find((c) => c.job === job)!.config;
    await store.ensurePath(zpaths.builds(job));
    const counter = await readJobNode(store, job);
    const fired = await triggerOps(
      store,
      { job, config: versions.get(job)!, trigger, ref: config.repository?.ref ?? null },
      counter.node,
      counter.version,
    );
    ops.push(...fired.ops);
  }
  return ops;
}

/** Turns an `advanceBuild` result into the turn's writes (the record first, when there is one). */
async function writeTurn(
  store: CoordinationStore,
  blob: BlobStore,
  read: { build: BuildState; version: number },
  r: AdvanceResult,
  waiting: ReadonlyMap<string, { path: string; version: number }>,
): Promise<ControlTurn> {
  const { build } = r;
  let version = read.version;
  if (r.announce) {
    // Tell running steps at once (they watch the build node), before the rest of the turn.
    version = (await store.set(zpaths.build(build.job, build.number), encodeJson(build), version)).version;
  }
  if (r.record) {
    await blob.put(blobKeys.build(build.job, build.number), `${JSON.stringify(r.record, null, 2)}\n`, {
      contentType: 'application/json',
    });
  }
  const ops: Op[] = [];
  const successors: TicketSpec[] = [];
  if (r.changed && !r.announce && !r.removeBuild) {
    ops.push({ type: 'set', path: zpaths.build(build.job, build.number), data: encodeJson(build), version });
  }
  for (const d of r.drop) {
    const ticket = waiting.get(d.step)!;
    ops.push({ type: 'delete', path: ticket.path, version: ticket.version });
    if (d.state) ops.push({ type: 'set', path: stepPath(build.job, build.number, d.step), data: encodeJson(d.state) });
  }
  for (const s of r.settle) {
    ops.push({ type: 'create', path: stepPath(build.job, build.number, s.step), data: encodeJson(s.state) });
  }
  for (const d of r.dispatch) {
    ops.push({ type: 'create', path: stepPath(build.job, build.number, d.step), data: encodeJson(d.state) });
    successors.push(d.spec);
  }
  for (const id of r.remove) ops.push({ type: 'delete', path: stepPath(build.job, build.number, id) });
  if (r.removeBuild) ops.push(...(await endingOps(store, blob, build, version, r.status!)));
  else if (read.build.status === 'queued' && build.status === 'running') {
    // The build starts: its commit status (a webhook's build) goes `pending` (`commit-status.ts`).
    const started = await startStatus(store, build);
    ops.push(...started.ops);
    successors.push(...started.successors);
  }
  if (r.more) successors.push(advanceTicket(build.job, build.number));
  if (r.wakeAt !== null) {
    const wake: ControlPayload = { op: 'wake', job: build.job, build: build.number, at: r.wakeAt };
    successors.push({ kind: 'control', payload: wake, priority: 9, notBefore: r.wakeAt });
  }
  return { ops, successors };
}

/** One control turn of the build a control ticket names (nothing to do when it ended already). */
export async function controlTurn(input: ControlTurnInput): Promise<ControlTurn> {
  const { store, blob, payload } = input;
  const now = input.now ?? Date.now();
  const read = await readBuild(store, payload.job, payload.build);
  if (!read) return { ops: [], successors: [] };
  let { build } = read;
  // An ending build only removes nodes: it needs no config (its record is written already).
  const config: JobConfig = build.ending ? { name: build.job, steps: [] } : await input.loadConfig(build.config.key);
  // A build of a concurrency group joins it, and starts only as the lowest of it.
  const gate = await groupGate(store, read, config, now);
  if (gate && 'start' in gate) build = gate.start;
  else if (gate) return gate;
  const plan = build.ending ? [] : planBuild(config);
  const steps = await readSteps(store, build);
  const wokeFor = payload.op === 'wake' ? payload.at : undefined;
  const base = { build, config, plan, steps, now, wokeFor };
  const waiting = needsWaiting(base) ? await readWaitingTickets(store, build, plan, steps) : undefined;
  const r = advanceBuild({ ...base, waiting: waiting ? new Set(waiting.keys()) : undefined });
  return writeTurn(store, blob, read, r, waiting ?? new Map());
}

/**
 * Ends a build `error` because its control ticket gave up (issue 13, hole 2): the record says why
 * (`error`), with the steps as far as they got; the nodes are removed as in any ending (over several
 * turns when needed). Used by the control handler's `exhausted` outcome.
 */
export async function endBuildOnError(
  input: Omit<ControlTurnInput, 'loadConfig'> & { loadConfig?: ControlTurnInput['loadConfig']; cause: string },
): Promise<ControlTurn> {
  const { store, blob, payload, cause } = input;
  const now = input.now ?? Date.now();
  const read = await readBuild(store, payload.job, payload.build);
  if (!read) return { ops: [], successors: [] };
  const steps = await readSteps(store, read.build);
  if (read.build.ending) return controlTurn({ ...input, loadConfig: async () => ({ name: '', steps: [] }) });
  let plan: PlannedStep[] | null = null;
  try {
    if (input.loadConfig) plan = planBuild(await input.loadConfig(read.build.config.key));
  } catch {
    // The config is what failed (or cannot be read): the record lists the steps that have nodes.
  }
  const record = buildRecordOf(read.build, plan, steps, 'error', cause);
  // The removal part of the state machine, with the build marked as ending in `error`.
  const ending: BuildState = { ...read.build, ending: { status: 'error' } };
  const r = advanceBuild({ build: ending, config: { name: ending.job, steps: [] }, plan: [], steps, now });
  r.record = record;
  r.changed = true;
  if (r.removeBuild) r.changed = false;
  return writeTurn(store, blob, read, r, new Map());
}
