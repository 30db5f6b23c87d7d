/**
 * Waiting out a connection loss for the sake of one session: what the protocol does after an operation's
 * answer was lost (`DISTCI_CONNECTION_LOSS`: the outcome is unknown), because only a look at our own
 * ephemeral claim node *in the same session* can tell whether it applied.
 *
 * `sessionBack(store, sessionId)` resolves `true` when the store is connected in that session again, and
 * `false` as soon as that session is over: the store reports `expired` (the server said so, or the
 * adapter's watchdog decided so after being cut off too long), `closed`, or a connection in another
 * session. It never waits for a *new* session: a worker cut off by a partition learns that its claims
 * are lost when its session is, not when the network heals (a ticket runner would otherwise sit on a
 * dead attempt, and a drain would hang, for as long as the partition lasts).
 */
import type { CoordinationStore } from '../coordination-store.js';

export function sessionBack(store: CoordinationStore, sessionId: string | null): Promise<boolean> {
  if (sessionId === null || store.sessionId !== sessionId) return Promise.resolve(false);
  if (store.state === 'connected') return Promise.resolve(true);
  if (store.state === 'expired' || store.state === 'closed') return Promise.resolve(false);
  return new Promise((resolve) => {
    const off = store.onState((state, id) => {
      if (state === 'connected') {
        off();
        resolve(id === sessionId);
      } else if (state === 'expired' || state === 'closed' || state === 'connecting') {
        off();
        resolve(false);
      }
    });
  });
}
