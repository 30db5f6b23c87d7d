/**
 * Tickets: the small records in the coordination store that say "this step of this build needs doing".
 *
 * Lifecycle: post → claim → start → finish (complete | fail | release). The state lives in the ticket
 * node's JSON and in one ephemeral claim node per attempt:
 * - `waiting` (never claimed, or released): any worker of the kind with the labels may claim it.
 * - `claimed` with attempt A: the claim `/claims/<kind>/<id>-A` exists while its worker's session
 *   lives. If it vanished, the ticket is *stale*: the next claimer counts a lost attempt and, once
 *   `lost` reaches `maxAttempts`, fails the ticket with reason `infrastructure` instead.
 * Attempt numbers only grow (a release does not give its number back), so every attempt — and
 * everything it wrote to the object store under attempt-scoped keys — is distinct.
 */
import { distciError } from '../errors.js';
import { checkFormat } from '../format-version.js';
import { labelSetName, parseLabelSetName, zpaths } from '../keys.js';
import type { WorkerKind } from '../types.js';

/** 3: a ticket whose claims vanished three times fails as `infrastructure` (Buildkite retries twice). */
export const DEFAULT_MAX_ATTEMPTS = 3;
/**
 * 10 for control tickets: a control turn needs both stores, and giving up ends the build `error`. With
 * the runner's backoff (1 s doubling to 30 s, jittered) 10 attempts ride out ≥ 75 s of an unreachable
 * object store or ZooKeeper trouble; with 3 a 3-second RGW restart ended builds in flight (the full
 * chaos run: "control gave up on this build after 6 attempts" during its 30 s RGW outage).
 */
export const CONTROL_MAX_ATTEMPTS = 10;
/** 5: the middle of 0-9; 9 is the most urgent. */
export const DEFAULT_PRIORITY = 5;
/**
 * 4 KiB: invariant 6 says no znode holds more than a few KiB; payloads larger than that belong in the
 * object store, referenced by key.
 */
export const MAX_TICKET_BYTES = 4096;

/** What a poster says about a new ticket. */
export interface TicketSpec {
  kind: WorkerKind;
  /** Every label a worker needs to claim it (exec-shell); none for the other kinds. */
  labels?: readonly string[];
  /** 0-9, 9 the most urgent (default 5). */
  priority?: number;
  maxAttempts?: number;
  /**
   * A delayed ticket: not claimable before this time (ms since the epoch). It is posted with this as
   * its posting time in its name, so listing (names only) can skip it; the control worker's wake-ups
   * (a build's deadline) are such tickets.
   */
  notBefore?: number;
  /** Small JSON: what to do (e.g. job, build, step). */
  payload: unknown;
}

export type TicketState = 'waiting' | 'claimed';

/** 500 characters: enough for git's `fatal:` line and a path; keeps the ticket far below 4 KiB. */
export const MAX_TICKET_ERROR_CHARS = 500;

/** The JSON stored in a ticket node. */
export interface TicketData {
  v: 1;
  payload: unknown;
  maxAttempts: number;
  /** The last attempt number given out; 0 when never claimed. */
  attempt: number;
  /** How many claims vanished without finishing (crash, partition, expiry, handler crash). */
  lost: number;
  /** How many of the `lost` attempts were the handler failing (a thrown error), not a vanished claim. */
  failures?: number;
  /** The last handler failure's message (at most MAX_TICKET_ERROR_CHARS), so giving up can say why. */
  error?: string;
  state: TicketState;
  /** The worker holding (or last holding) the ticket. */
  worker?: string;
}

/** Where a ticket is: enough to find it, without its data. */
export interface TicketRef {
  kind: WorkerKind;
  /** The queue (label set name, `_` for none). */
  queue: string;
  labels: string[];
  /** The node name: `<rank>-<postedAt>-<seq>`. */
  name: string;
  /** `<queue>~<name>`: unique within the kind; names the claims. */
  id: string;
  path: string;
  priority: number;
  postedAt: number;
}

/** A ticket as read: its place, data and the data version the read saw. */
export interface Ticket extends TicketRef {
  data: TicketData;
  version: number;
}

export function ticketRef(kind: WorkerKind, queue: string, name: string): TicketRef | null {
  const parsed = zpaths.parseTicketName(name);
  if (!parsed) return null;
  return {
    kind,
    queue,
    labels: parseLabelSetName(queue),
    name,
    id: `${queue}~${name}`,
    path: `${zpaths.ticketQueue(kind, parseLabelSetName(queue))}/${name}`,
    priority: parsed.priority,
    postedAt: parsed.postedAt,
  };
}

/** The ref of a ticket from the full path a sequential create returned. */
export function ticketRefFromPath(kind: WorkerKind, path: string): TicketRef {
  const parts = path.split('/');
  const ref = ticketRef(kind, parts[parts.length - 2] ?? '', parts[parts.length - 1] ?? '');
  if (!ref) throw distciError('DISTCI_BAD_PATH', `'${path}' is not a ticket path`);
  return ref;
}

export function encodeTicket(data: TicketData): Buffer {
  const bytes = Buffer.from(JSON.stringify(data));
  if (bytes.length > MAX_TICKET_BYTES) {
    throw distciError('DISTCI_TICKET_TOO_LARGE', `a ticket of ${bytes.length} bytes is over ${MAX_TICKET_BYTES}`, {
      hint: 'put large payloads in the object store and pass their key in the ticket',
    });
  }
  return bytes;
}

export function decodeTicket(bytes: Buffer, path: string): TicketData {
  let data: TicketData | undefined;
  try {
    data = JSON.parse(bytes.toString('utf8')) as TicketData;
  } catch {}
  if (data && typeof data === 'object') {
    checkFormat(data, `the ticket ${path}`);
    // `v` has been in every ticket since the first release; one without it is not a ticket.
    if (data.v === 1 && typeof data.attempt === 'number' && typeof data.lost === 'number') return data;
  }
  throw distciError('DISTCI_COORDINATION_ERROR', `ticket ${path} holds data distci cannot read`, {
    hint: 'was it written by another version of distci? delete the ticket to drop it',
  });
}

/** The queue name and normalised fields of a spec. */
export function normaliseSpec(spec: TicketSpec): { queue: string; priority: number; maxAttempts: number } {
  const priority = spec.priority ?? DEFAULT_PRIORITY;
  const maxAttempts = spec.maxAttempts ?? (spec.kind === 'control' ? CONTROL_MAX_ATTEMPTS : DEFAULT_MAX_ATTEMPTS);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw distciError('DISTCI_BAD_OPTION', `maxAttempts ${maxAttempts} is not valid`, { hint: 'use 1-100' });
  }
  return { queue: labelSetName(spec.labels ?? []), priority, maxAttempts };
}
