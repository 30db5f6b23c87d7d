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
 */
import { type BlobStore, type ControlPayload, controlTurn, endBuildOnError } from '@distci/common';
import { classifyStepFailure } from '../steps/step-failure.js';
import type { Outcome, TicketHandler } from '../ticket-handler.js';
import type { ConfigCache } from './config-cache.js';

export interface ControlHandlerInput {
  blob: BlobStore;
  configs: ConfigCache;
}

export function createControlHandler({ blob, configs }: ControlHandlerInput): TicketHandler {
  const loadConfig = (key: string) => configs.get(key);
  return {
    async run({ claim, store }): Promise<Outcome> {
      const payload = claim.ticket.data.payload as ControlPayload;
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
