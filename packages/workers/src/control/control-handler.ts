/**
 * The control worker's handler: one turn of the build state machine per control ticket — read →
 * advance → write, all of it in the domain (`controlTurn`, `@distci/common` builds/control-build.ts;
 * the rules in builds/advance-build.ts). The turn's ops and successors are applied in the transaction
 * that completes the ticket, so a turn happens whole or not at all, and a turn that loses a race to
 * another control worker (NodeExists, BadVersion) is released and looked at again.
 *
 * When a control ticket gives up (its handler failed `maxAttempts` times — 10 for control tickets, so
 * that a minute of storage trouble does not end builds — or its claims vanished that often), its build
 * ends `error` with the cause in the record (`endBuildOnError`): a build never stays `running` with
 * nothing left to advance it (issue 13, hole 2). A failure no retry can change (a 4xx distci error: the
 * config version is gone) ends the build at once, with that error as the cause.
 *
 * A `report` ticket is no turn of a build: it posts the build's GitHub commit status from its outbox
 * (`report` below; `github-status.ts` talks to GitHub).
 */
import {
  type BlobStore,
  type ControlPayload,
  type CoordinationStore,
  controlTurn,
  endBuildOnError,
  readStatusOutbox,
  reportTicket,
  statusDoneOps,
} from '@distci/common';
import { classifyStepFailure } from '../steps/step-failure.js';
import type { Outcome, TicketHandler } from '../ticket-handler.js';
import type { ConfigCache } from './config-cache.js';
import { type GithubOptions, postCommitStatus } from './github-status.js';

export interface ControlHandlerInput {
  blob: BlobStore;
  configs: ConfigCache;
  /** Where commit statuses go (`report` tickets); no token: they are not posted. */
  github?: GithubOptions;
}

/**
 * A `report` ticket: post the build's commit status as its outbox says now, then clear the outbox in
 * the ticket's finishing transaction (a compare-and-set: changed meanwhile, the ticket is released and
 * the next attempt posts the new state). Rate limited: a report ticket due when GitHub says.
 */
async function report(
  store: CoordinationStore,
  payload: Extract<ControlPayload, { op: 'report' }>,
  github: GithubOptions | undefined,
  signal: AbortSignal,
): Promise<Outcome> {
  const read = await readStatusOutbox(store, payload.job, payload.build);
  if (!read) return { status: 'complete' }; // posted already
  const done = statusDoneOps(read.outbox, read.version);
  const token = github?.token;
  if (!github || !token) return { status: 'complete', ops: done }; // nowhere to post: dropped
  const result = await postCommitStatus({ ...github, token }, read.outbox, { signal });
  if (result.posted) return { status: 'complete', ops: done };
  if (result.permanent) throw Object.assign(new Error(result.message), { permanent: true });
  return {
    status: 'complete',
    successors: [{ ...reportTicket(payload.job, payload.build), notBefore: result.retryAt }],
  };
}

export function createControlHandler({ blob, configs, github }: ControlHandlerInput): TicketHandler {
  const loadConfig = (key: string) => configs.get(key);
  return {
    async run({ claim, store, signal }): Promise<Outcome> {
      const payload = claim.ticket.data.payload as ControlPayload;
      if (payload.op === 'report') {
        try {
          return await report(store, payload, github, signal);
        } catch (err) {
          if (!(err as { permanent?: boolean }).permanent) throw err;
          // GitHub refused it for good (a wrong token, 422): dropped, the ticket failed with why.
          const read = await readStatusOutbox(store, payload.job, payload.build);
          return { status: 'fail', ops: read ? statusDoneOps(read.outbox, read.version) : [] };
        }
      }
      try {
        const turn = await controlTurn({ store, blob, loadConfig, payload });
        return { status: 'complete', ...turn };
      } catch (err) {
        // What no retry changes (the build's config version is gone, a key the store refuses) ends the
        // build now, saying so; anything else (a store that does not answer) is retried, backing off.
        const failure = classifyStepFailure(err);
        if (!failure.permanent) throw err;
        const cause = `control cannot advance this build: ${failure.message}`;
        return { status: 'fail', ...(await endBuildOnError({ store, blob, loadConfig, payload, cause })) };
      }
    },

    async exhausted(ticket, store, cause): Promise<Outcome> {
      const payload = ticket.data.payload as ControlPayload;
      if (payload.op === 'report') {
        // GitHub did not take it after every attempt: the status is given up, its outbox removed.
        const read = await readStatusOutbox(store, payload.job, payload.build);
        return { status: 'fail', ops: read ? statusDoneOps(read.outbox, read.version) : [] };
      }
      const why = cause ?? `the control worker was lost ${ticket.data.lost} times (crash, partition or expiry)`;
      const turn = await endBuildOnError({
        store,
        blob,
        loadConfig,
        payload,
        cause: `control gave up on this build after ${ticket.data.attempt} attempts: ${why}`,
      });
      return { status: 'fail', ...turn };
    },
  };
}
