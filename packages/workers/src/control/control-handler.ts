/**
 * The control worker's handler: one turn of the build state machine per control ticket — read →
 * advance → write, all of it in the domain (`controlTurn`, `@distci/common` builds/control-build.ts;
 * the rules in builds/advance-build.ts). The turn's ops and successors are applied in the transaction
 * that completes the ticket, so a turn happens whole or not at all, and a turn that loses a race to
 * another control worker (NodeExists, BadVersion) is released and looked at again.
 *
 * When a control ticket gives up (its handler failed `maxAttempts` times, or its claims vanished that
 * often), its build ends `error` with the cause in the record (`endBuildOnError`): a build never stays
 * `running` with nothing left to advance it (issue 13, hole 2).
 */
import { type BlobStore, type ControlPayload, controlTurn, endBuildOnError } from '@distci/common';
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
      const turn = await controlTurn({ store, blob, loadConfig, payload });
      return { status: 'complete', ...turn };
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
