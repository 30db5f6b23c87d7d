/**
 * What a step worker gets in its ticket, and the one way it reports a result.
 *
 * The payload stays small (invariant 6): the step's config is read from the immutable config snapshot
 * the build runs (`config.key`), never copied into the ticket.
 * A step's result is recorded by `stepResultOps` in the transaction that completes its ticket: the
 * step state is set, and a control ticket `advance` is posted so the build moves on.
 */
import type { Op } from '../coordination-store.js';
import { zpaths } from '../keys.js';
import type { TicketSpec } from '../tickets/ticket.js';
import type { ControlPayload, StepState } from './build-state.js';
import { encodeJson } from './build-state.js';

export interface StepPayload {
  job: string;
  build: number;
  /** The planned step id (`test[cc=gcc]`). */
  step: string;
  /** Index of the step in the config's `steps`. */
  index: number;
  config: { key: string; etag: string };
  /** The repository ref/commit this build runs (commit from the checkout step once known). */
  ref: string | null;
  commit: string | null;
  /** Workspaces left by the steps this one needs, in `needs` order (later ones overwrite). */
  workspaces: string[];
  matrix: Record<string, string> | null;
  /** The build's deadline (ms since the epoch) or null. */
  deadline: number | null;
  /** Set when the build was triggered by another build (copy-artifacts `triggering`). */
  upstream: { job: string; build: number } | null;
}

/** @deprecated use `zpaths.step` (kept while the control worker still builds its own ops). */
export function stepPath(job: string, build: number, step: string): string {
  return zpaths.step(job, build, step);
}

/** The control ticket that advances a build. */
export function advanceTicket(job: string, build: number): TicketSpec {
  const payload: ControlPayload = { op: 'advance', job, build };
  return { kind: 'control', payload, priority: 9 };
}

/**
 * Ops and successors recording a step's result: set its state (no version check: the ticket's fence
 * already proves this attempt is the live one), then advance the build.
 */
export function stepResult(payload: StepPayload, state: StepState): { ops: Op[]; successors: TicketSpec[] } {
  return {
    ops: [{ type: 'set', path: zpaths.step(payload.job, payload.build, payload.step), data: encodeJson(state) }],
    successors: [advanceTicket(payload.job, payload.build)],
  };
}
