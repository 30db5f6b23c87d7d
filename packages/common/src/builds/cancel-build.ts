/**
 * Cancel a running build: mark it (`cancel` in the build node: running steps watch it and stop, with
 * their process groups killed) and post a control ticket that drops waiting steps and ends the build
 * — in one transaction, so a cancel is never half-done.
 * Returns false when the build is not live (finished already: nothing to cancel).
 */
import type { CoordinationStore } from '../coordination-store.js';
import { isDistciError } from '../errors.js';
import { zpaths } from '../keys.js';
import { prepareTicketOps } from '../tickets/post-ticket.js';
import type { ControlPayload } from './build-state.js';
import { type BuildState, decodeJson, encodeJson } from './build-state.js';

export async function cancelBuild(
  store: CoordinationStore,
  job: string,
  number: number,
  by?: string,
): Promise<boolean> {
  const path = zpaths.build(job, number);
  for (;;) {
    let state: BuildState;
    let version: number;
    try {
      const read = await store.get(path);
      state = decodeJson<BuildState>(read.data);
      version = read.stat.version;
    } catch (err) {
      if (isDistciError(err, 'DISTCI_NO_NODE')) return false;
      throw err;
    }
    if (state.cancel) return true;
    const payload: ControlPayload = { op: 'cancel', job, build: number };
    const ticket = await prepareTicketOps(store, [{ kind: 'control', payload, priority: 9 }]);
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
