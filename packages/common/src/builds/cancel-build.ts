/**
 * Cancel a running build: mark it (`cancel` in the build node: running steps watch it and stop, with
 * their process groups killed) and post a control ticket that drops waiting steps and ends the build
 * — in one transaction, so a cancel is never half-done.
 * Returns false when the build is not live (finished already: nothing to cancel).
 */
import type { CoordinationStore } from '../coordination-store.js';
import type { DomainCaches } from '../domain-caches.js';
import { isDistciError } from '../errors.js';
import { zpaths } from '../keys.js';
import { prepareTicketOps } from '../tickets/post-ticket.js';
import type { ControlPayload } from './build-state.js';
import { type BuildState, encodeJson } from './build-state.js';
import { readBuildState } from './build-state-node.js';

export async function cancelBuild(
  store: CoordinationStore,
  job: string,
  number: number,
  by?: string,
  caches?: DomainCaches,
): Promise<boolean> {
  const path = zpaths.build(job, number);
  for (;;) {
    const read = await readBuildState(store, job, number);
    if (!read) return false;
    const { state, version } = read;
    if (state.cancel) return true;
    const payload: ControlPayload = { op: 'cancel', job, build: number };
    const ticket = await prepareTicketOps(store, [{ kind: 'control', payload, priority: 9 }], caches);
    const cancelled: BuildState = { ...state, cancel: { at: Date.now(), reason: 'cancelled', ...(by ? { by } : {}) } };
    try {
      await store.multi([{ type: 'set', path, data: encodeJson(cancelled), version }, ...ticket]);
      return true;
    } catch (err) {
      if (isDistciError(err, 'DISTCI_BAD_VERSION') || isDistciError(err, 'DISTCI_NO_NODE')) continue;
      throw err;
    }
  }
}
