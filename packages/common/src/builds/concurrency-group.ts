/**
 * Concurrency groups (job config `concurrency: {group, cancelInProgress}`): at most one build of a
 * group runs at a time; a newer build waits for the older ones to end, or, with `cancelInProgress`,
 * cancels them ("superseded by #N") and then runs.
 *
 * Masterless and race-free, in the coordination store (`zpaths.group`):
 * - A build joins its group in its first control turn (before it starts): one persistent sequential
 *   member node `m-<seq>` `{job, build}` under the group's node, created in the transaction that
 *   completes that control ticket, together with the build node's `group` (so it joins once) and, with
 *   `cancelInProgress`, the cancel of every older member (their build nodes marked as by a cancel
 *   request, a control ticket each) — all or nothing.
 * - The member with the lowest sequence runs; the others wait (their build stays `queued`, its
 *   `group.waitingFor` naming the build it waits for). A new member's sequence is higher than every
 *   present one, so a build that is the lowest stays the lowest: the decision to start needs no lock.
 * - A build leaves in the transaction that removes its node (its end): it deletes its member and, if
 *   it was the lowest, posts an `advance` control ticket for the next member, which then starts.
 * - Every join and every leave sets (or creates, or deletes with the last member) the group node with
 *   the version it read, so a join and a leave that overlap cannot both commit: the loser's ticket is
 *   released (a conflict) and its turn looks again. So a leave never misses a member that joined
 *   meanwhile, and no waiting build is left without a ticket that will start it.
 * A build cancelled while it waits ends at once (it never ran); a waiting build has no deadline yet:
 * its `timeout` counts from when it starts.
 */
import type { CoordinationStore, Op } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { resolveGroup } from '../jobs/concurrency-template.js';
import type { JobConfig } from '../jobs/job-config.js';
import { zpaths } from '../keys.js';
import { prepareTicketOps } from '../tickets/post-ticket.js';
import type { TicketSpec } from '../tickets/ticket.js';
import { type BuildState, type ControlPayload, decodeJson, encodeJson } from './build-state.js';
import { readBuildState } from './build-state-node.js';
import { advanceTicket } from './step-ticket.js';

/** How a build names another one of its group: `#N` in the same job, `job #N` across jobs. */
export function buildName(from: { job: string }, other: { job: string; build: number }): string {
  return other.job === from.job ? `#${other.build}` : `${other.job} #${other.build}`;
}

/** Why a queued build waits for its group, in words (the build view's `waiting`), or null. */
export function groupWaiting(build: Pick<BuildState, 'job' | 'status' | 'group' | 'cancel'>): string | null {
  const w = build.group?.waitingFor;
  if (build.status !== 'queued' || !w || build.cancel) return null;
  const cancelling = build.group!.cancelInProgress ? ' to end (cancelled: superseded)' : '';
  return `waiting for ${buildName(build, w)} of group '${build.group!.name}'${cancelling}`;
}

interface Member {
  name: string;
  seq: number;
  job: string;
  build: number;
}

interface GroupRead {
  path: string;
  /** The group node's version, null when it does not exist. */
  version: number | null;
  /** Members in join order. */
  members: Member[];
}

async function readGroup(store: CoordinationStore, name: string): Promise<GroupRead> {
  const path = zpaths.group(name);
  let version: number | null = null;
  let names: string[] = [];
  try {
    version = (await store.get(path)).stat.version;
    names = await store.children(path);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
    return { path, version: null, members: [] };
  }
  const members: Member[] = [];
  await Promise.all(
    names.map(async (n) => {
      const seq = zpaths.parseGroupMemberName(n);
      if (seq === null) return;
      try {
        const data = decodeJson<{ job: string; build: number }>((await store.get(zpaths.groupMember(name, n))).data);
        members.push({ name: n, seq, job: data.job, build: data.build });
      } catch (err) {
        if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err; // left meanwhile: the version check decides
      }
    }),
  );
  members.sort((a, b) => a.seq - b.seq);
  return { path, version, members };
}

/** The op that records a join or a leave on the group node (a compare-and-set of its version). */
function bumpGroup(name: string, read: GroupRead): Op {
  const data = encodeJson({ v: 1, name });
  return read.version === null
    ? { type: 'create', path: read.path, data }
    : { type: 'set', path: read.path, data, version: read.version };
}

export interface GroupTurn {
  ops: Op[];
  successors: TicketSpec[];
}

/**
 * Before a queued build starts: join its group (first turn), or look whether it may start now. Returns
 * the turn's writes when the build must wait (or just joined); `{start}` when it is the lowest of its
 * group and starts now (the build with `waitingFor` cleared, for the caller to advance as any other);
 * null when no group applies (no `concurrency`, started already, cancelled: it advances as it is).
 */
export async function groupGate(
  store: CoordinationStore,
  read: { build: BuildState; version: number },
  config: JobConfig,
  now: number,
): Promise<GroupTurn | { start: BuildState } | null> {
  const { build, version } = read;
  const concurrency = config.concurrency;
  if (!concurrency || build.status !== 'queued' || build.cancel || build.ending) return null;
  const buildPath = zpaths.build(build.job, build.number);
  if (!build.group) {
    const name = resolveGroup(concurrency.group, build);
    const cancelInProgress = concurrency.cancelInProgress === true;
    await store.ensurePath(zpaths.groups());
    const group = await readGroup(store, name);
    const ops: Op[] = [
      bumpGroup(name, group),
      {
        type: 'create',
        path: zpaths.groupMemberPrefix(name),
        data: encodeJson({ v: 1, job: build.job, build: build.number }),
        mode: 'persistent-sequential',
      },
    ];
    const head = group.members[0];
    const joined: BuildState = {
      ...build,
      group: { name, cancelInProgress, waitingFor: head ? { job: head.job, build: head.build } : null },
    };
    ops.push({ type: 'set', path: buildPath, data: encodeJson(joined), version });
    if (cancelInProgress) {
      // Every older member is superseded: cancelled as by a cancel request (`cancel-build.ts`).
      const cancels: TicketSpec[] = [];
      for (const m of group.members) {
        const older = await readBuildState(store, m.job, m.build);
        // Ended (the version check decides), ending, or cancelled already: nothing to supersede.
        if (!older || older.state.cancel || older.state.ending) continue;
        const cancel = {
          at: now,
          reason: 'cancelled' as const,
          message: `superseded by ${buildName(m, { job: build.job, build: build.number })}`,
        };
        ops.push({
          type: 'set',
          path: zpaths.build(m.job, m.build),
          data: encodeJson({ ...older.state, cancel }),
          version: older.version,
        });
        const payload: ControlPayload = { op: 'cancel', job: m.job, build: m.build };
        cancels.push({ kind: 'control', payload, priority: 9 });
      }
      ops.push(...(await prepareTicketOps(store, cancels)));
    }
    // The first of its group starts in the next turn; the others when the one before them leaves.
    return { ops, successors: head ? [] : [advanceTicket(build.job, build.number)] };
  }
  const group = await readGroup(store, build.group.name);
  const mine = group.members.findIndex((m) => m.job === build.job && m.build === build.number);
  // The lowest runs. (Not a member at all cannot happen: it joined in a committed turn and leaves
  // only when it ends; should it ever, running beats waiting forever.)
  if (mine <= 0) return { start: { ...build, group: { ...build.group, waitingFor: null } } };
  const head = group.members[0]!;
  const w = build.group.waitingFor;
  if (w?.job === head.job && w.build === head.build) return { ops: [], successors: [] };
  const waiting: BuildState = { ...build, group: { ...build.group, waitingFor: { job: head.job, build: head.build } } };
  return { ops: [{ type: 'set', path: buildPath, data: encodeJson(waiting), version }], successors: [] };
}

/**
 * The ops that take an ending build out of its group (in the transaction that removes its node): its
 * member goes (with the group node when it was the last), and the next member gets an `advance`
 * control ticket when this one was the lowest.
 */
export async function leaveGroupOps(store: CoordinationStore, build: BuildState): Promise<Op[]> {
  if (!build.group) return [];
  const { name } = build.group;
  const group = await readGroup(store, name);
  const mine = group.members.findIndex((m) => m.job === build.job && m.build === build.number);
  if (mine < 0 || group.version === null) return [];
  const ops: Op[] = [{ type: 'delete', path: zpaths.groupMember(name, group.members[mine]!.name) }];
  ops.push(
    group.members.length === 1
      ? { type: 'delete', path: group.path, version: group.version }
      : { ...bumpGroup(name, group) },
  );
  const next = mine === 0 ? group.members[1] : undefined;
  if (next) ops.push(...(await prepareTicketOps(store, [advanceTicket(next.job, next.build)])));
  return ops;
}
