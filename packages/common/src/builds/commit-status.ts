/**
 * GitHub commit statuses of the builds a webhook triggered: `pending` when the build starts,
 * `success` / `failure` / `error` when it ends — through an outbox in the coordination store.
 *
 * - The build's control turns write what to report into its outbox node (`zpaths.statusOutbox`): the
 *   turn that starts the build creates it `pending`, the transaction that ends the build sets the final
 *   state — each in the same transaction as the build change it reports, so no report is lost or made
 *   up.
 * - A `report` control ticket rides along (posted in that same transaction, unless one is out already:
 *   `ticket`). The control worker that claims it posts the outbox's state as it reads it, then
 *   completes the ticket with a compare-and-set of the outbox: cleared (`ticket: false`) after
 *   `pending`, removed after a final state. Had the outbox changed meanwhile (the build ended while
 *   `pending` was being posted), the ticket is released (a conflict) and the next attempt posts the new
 *   state — so the last status posted is the latest one.
 * - A worker killed mid-report (SIGKILL) leaves its claim to expire: the ticket is claimed again and the
 *   status posted again. GitHub keeps the latest status per context, so one posted twice is posted once
 *   in effect. One ticket at a time per build: two workers never post one build's statuses at once.
 *
 * Only builds triggered by a GitHub webhook report (they know the repository and the exact commit).
 */
import type { CoordinationStore, Op } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { zpaths } from '../keys.js';
import { prepareTicketOps } from '../tickets/post-ticket.js';
import type { TicketSpec } from '../tickets/ticket.js';
import type { BuildStatus } from '../types.js';
import { type BuildState, type ControlPayload, decodeJson, encodeJson } from './build-state.js';

export type CommitState = 'pending' | 'success' | 'failure' | 'error';

export interface StatusOutbox {
  v: 1;
  job: string;
  build: number;
  /** `owner/name`. */
  repo: string;
  sha: string;
  state: CommitState;
  description: string;
  /** A report ticket is out for this outbox (posted, not done): no second one is posted. */
  ticket: boolean;
}

/** Where a build's statuses go, or null when it reports none (not triggered by a webhook). */
export function statusTarget(build: BuildState): { repo: string; sha: string } | null {
  if (build.trigger.type !== 'github' || !build.trigger.repo || !build.commit) return null;
  return { repo: build.trigger.repo, sha: build.commit };
}

/** The commit state of a build status; `cancelled` is an `error` to GitHub (it knows no cancelled). */
export function commitState(status: BuildStatus): CommitState {
  if (status === 'queued' || status === 'running') return 'pending';
  if (status === 'success' || status === 'failure') return status;
  return 'error';
}

const WORDS: Record<BuildStatus, string> = {
  queued: 'is queued',
  running: 'is running',
  success: 'succeeded',
  failure: 'failed',
  cancelled: 'was cancelled',
  error: 'ended in error',
};

/** The status's `context`: one per job, so each job's latest status shows on the commit. */
export const statusContext = (job: string) => `distci/${job}`;

export function reportTicket(job: string, build: number): TicketSpec {
  const payload: ControlPayload = { op: 'report', job, build };
  return { kind: 'control', payload, priority: 8 };
}

function outboxOf(build: BuildState, status: BuildStatus, ticket: boolean): StatusOutbox | null {
  const target = statusTarget(build);
  if (!target) return null;
  return {
    v: 1,
    job: build.job,
    build: build.number,
    ...target,
    state: commitState(status),
    description: `distci ${build.job} #${build.number} ${WORDS[status]}`,
    ticket,
  };
}

/** The turn that starts a build: its outbox, `pending`, and the ticket that reports it. */
export async function startStatus(
  store: CoordinationStore,
  build: BuildState,
): Promise<{ ops: Op[]; successors: TicketSpec[] }> {
  const outbox = outboxOf(build, 'running', true);
  if (!outbox) return { ops: [], successors: [] };
  await store.ensurePath(zpaths.statusOutboxes());
  return {
    ops: [{ type: 'create', path: zpaths.statusOutbox(build.job, build.number), data: encodeJson(outbox) }],
    successors: [reportTicket(build.job, build.number)],
  };
}

/** The outbox of a build with its node version, or null. */
export async function readStatusOutbox(
  store: CoordinationStore,
  job: string,
  build: number,
): Promise<{ outbox: StatusOutbox; version: number } | null> {
  try {
    const { data, stat } = await store.get(zpaths.statusOutbox(job, build));
    return { outbox: decodeJson<StatusOutbox>(data), version: stat.version };
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) return null;
    throw err;
  }
}

/** The transaction that ends a build: its final state in the outbox, and a report ticket if none is out. */
export async function endStatusOps(store: CoordinationStore, build: BuildState, status: BuildStatus): Promise<Op[]> {
  const outbox = outboxOf(build, status, true);
  if (!outbox) return [];
  await store.ensurePath(zpaths.statusOutboxes());
  const path = zpaths.statusOutbox(build.job, build.number);
  const read = await readStatusOutbox(store, build.job, build.number);
  const op: Op = read
    ? { type: 'set', path, data: encodeJson(outbox), version: read.version }
    : { type: 'create', path, data: encodeJson(outbox) };
  const ticket = read?.outbox.ticket ? [] : await prepareTicketOps(store, [reportTicket(build.job, build.number)]);
  return [op, ...ticket];
}

/** Once the outbox's state (as read at `version`) is posted: cleared, or removed after a final state. */
export function statusDoneOps(outbox: StatusOutbox, version: number): Op[] {
  const path = zpaths.statusOutbox(outbox.job, outbox.build);
  if (outbox.state !== 'pending') return [{ type: 'delete', path, version }];
  return [{ type: 'set', path, data: encodeJson({ ...outbox, ticket: false }), version }];
}
