/**
 * A worker: one kind, a set of labels, a bounded number of tickets at once.
 *
 * - Claims through the claim loop (watches, not polling), runs each ticket with `runTicket` (which
 *   guarantees it ends in complete / fail / release).
 * - Session: on `suspended` it stops starting work (in-flight tickets go on: their claims may still be
 *   alive); on `expired`, or on a `connected` that brings a new session, every in-flight attempt is
 *   abandoned (its signal aborts with `session-lost`; it may not record anything) and claiming resumes
 *   in the new session.
 * - Drain (SIGTERM): no new claims; in-flight tickets get `graceMs` to finish, then are released so
 *   other workers claim them at once, without waiting for a session timeout.
 */
import {
  type Claim,
  type CoordinationStore,
  coerceError,
  createDomainCaches,
  openTickets,
  type TicketsService,
  type WorkerPresence,
} from '@distci/common';
import { claimLoop } from './claim-loop.js';
import { createPresenceLoop } from './presence-loop.js';
import type { AbortReason, TicketHandler } from './ticket-handler.js';
import { runTicket } from './ticket-runner.js';
import { Wakeup } from './wakeup.js';
import { payloadFields, type WorkerEvent, type WorkerEventListener, type WorkerEventType } from './worker-events.js';
import type { WorkerOptions } from './worker-options.js';

export interface WorkerInput {
  store: CoordinationStore;
  /** The ticket protocol over `store` (`distci.tickets`); default: one opened here. */
  tickets?: TicketsService;
  options: WorkerOptions;
  handler: TicketHandler;
  onEvent?: WorkerEventListener;
}

export interface Worker {
  readonly options: WorkerOptions;
  /** Runs until `signal` aborts (then drains with `options.graceMs`) or `drain()` is called. */
  run(signal?: AbortSignal): Promise<void>;
  /** Stops claiming, lets in-flight tickets finish for `graceMs`, releases the rest; resolves when done. */
  drain(graceMs?: number): Promise<void>;
  /** Tickets running now. */
  running(): Claim[];
}

interface Running {
  claim: Claim;
  controller: AbortController;
  done: Promise<void>;
}

export function createWorker({ store, tickets: given, options, handler, onEvent }: WorkerInput): Worker {
  const tickets = given ?? openTickets(store, createDomainCaches());
  const wakeup = new Wakeup();
  const loopController = new AbortController();
  const running = new Map<string, Running>();
  const startedAt = Date.now();
  let paused = false;
  let draining: Promise<void> | undefined;
  /** The claim loop while it runs: a drain waits for it, so no claim can land after the drain looked. */
  let loop: Promise<void> = Promise.resolve();
  let session: string | null = null;

  const report = (type: WorkerEventType, extra: Partial<WorkerEvent> = {}) => {
    const event: WorkerEvent = { type, worker: options.id, at: Date.now(), ...extra };
    try {
      onEvent?.(event);
    } catch {}
  };
  const snapshot = (): WorkerPresence => ({
    id: options.id,
    kind: options.kind,
    labels: [...options.labels],
    host: options.host,
    pid: process.pid,
    version: options.version,
    capacity: options.concurrency,
    running: [...running.values()].map((r) => ({
      ticket: r.claim.ticket.id,
      attempt: r.claim.attempt,
      since: r.claim.claimedAt,
    })),
    startedAt,
    state: draining ? 'draining' : paused ? 'paused' : 'running',
  });
  const presence = createPresenceLoop(store, snapshot, (message) => report('error', { message }));

  const abandonAll = (why: string) => {
    let abandoned = 0;
    for (const r of running.values()) {
      if (r.controller.signal.aborted) continue;
      r.controller.abort('session-lost' satisfies AbortReason);
      abandoned++;
    }
    // Once per lost session: `expired` and the next session's `connected` both get here.
    if (abandoned > 0) report('session-lost', { message: `${why}: ${abandoned} attempt(s) abandoned` });
  };

  const offState = store.onState((state, sessionId) => {
    if (state === 'suspended') {
      paused = true;
      report('paused', { message: 'connection to the coordination store lost; no new claims' });
    } else if (state === 'expired') {
      abandonAll('session expired');
    } else if (state === 'connected') {
      if (session !== null && sessionId !== session) abandonAll('new session');
      session = sessionId;
      if (paused) report('resumed');
      paused = false;
      void presence.flush();
      wakeup.notify();
    }
    presence.changed();
  });

  const start = (claim: Claim) => {
    const controller = new AbortController();
    const ticket = `${claim.ticket.kind}/${claim.ticket.id}`;
    const about = { ticket, attempt: claim.attempt, ...payloadFields(claim.ticket.data.payload) };
    report('claimed', { ...about, queueWaitMs: Math.max(0, Date.now() - claim.ticket.postedAt) });
    // A batch of claims resolves one by one: the session may have ended between this claim's answer and
    // now, after `abandonAll` ran. Then the attempt is over before it starts.
    if (claim.sessionId !== store.sessionId) controller.abort('session-lost' satisfies AbortReason);
    const done = runTicket({
      store,
      tickets,
      claim,
      handler,
      controller,
      report: (type, message) => report(type, { ...about, ...(message ? { message } : {}) }),
    }).finally(() => {
      running.delete(claim.claimPath);
      presence.changed();
      wakeup.notify();
    });
    running.set(claim.claimPath, { claim, controller, done });
    presence.changed();
  };

  const drain = (graceMs = options.graceMs): Promise<void> => {
    draining ??= (async () => {
      report('draining', { message: `${running.size} ticket(s) in flight, grace ${graceMs} ms` });
      loopController.abort();
      presence.changed();
      // A claim the loop had in flight when we aborted it is started (and counted below) before it ends.
      await loop;
      const all = Promise.all([...running.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([all, graceOver]);
      clearTimeout(timer);
      for (const r of running.values()) r.controller.abort('drain' satisfies AbortReason);
      await Promise.all([...running.values()].map((r) => r.done));
      offState();
      await presence.stop().catch(() => {});
      report('stopped');
    })();
    return draining;
  };

  return {
    options,
    running: () => [...running.values()].map((r) => r.claim),
    drain,
    async run(signal) {
      signal?.addEventListener('abort', () => void drain(), { once: true });
      await store.ready();
      session = store.sessionId;
      await tickets.ensureKind(options.kind);
      await presence.flush();
      loop = claimLoop({
        store,
        tickets,
        options,
        handler,
        wakeup,
        freeSlots: () => (paused || draining ? 0 : options.concurrency - running.size),
        start,
        report: (type, message, ticket) =>
          report(type, {
            message,
            ...(ticket ? { ticket: `${ticket.kind}/${ticket.id}`, ...payloadFields(ticket.data.payload) } : {}),
          }),
        signal: loopController.signal,
      }).catch((err) => report('error', { message: `claim loop ended: ${coerceError(err).message}` }));
      await loop;
      await drain();
    },
  };
}
