/**
 * Keeps this worker's presence node (`/workers/<kind>/<id>`, ephemeral, visibility only) up to date.
 * Writes are coalesced: at most one per `PRESENCE_MIN_INTERVAL_MS`, so presence never adds writes to
 * a ticket's lifecycle under load (a busy worker's ticket changes are reported in batches).
 */
import {
  type CoordinationStore,
  coerceError,
  isDistciError,
  removePresence,
  type WorkerPresence,
  writePresence,
} from '@distci/common';
import { backoffMs } from './backoff.js';

/** 1 s: fresh enough for a person watching the workers view. */
export const PRESENCE_MIN_INTERVAL_MS = 1000;

export interface PresenceLoop {
  /** Marks the presence changed; it is written within a second. */
  changed(): void;
  /** Writes now (e.g. after a new session: the old ephemeral node is gone). */
  flush(): Promise<void>;
  /** Stops writing and deletes the node. */
  stop(): Promise<void>;
}

export function createPresenceLoop(
  store: CoordinationStore,
  snapshot: () => WorkerPresence,
  onError: (message: string) => void,
): PresenceLoop {
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = 0;
  let stopped = false;
  let failures = 0;
  let writing: Promise<void> = Promise.resolve();

  const write = (): Promise<void> => {
    timer = undefined;
    if (stopped) return writing;
    writing = writing.then(async () => {
      // Not connected: the write could only fail (and say so every few seconds through a partition). The
      // worker flushes presence when the session is back (a new session has lost the ephemeral node).
      if (stopped || store.state !== 'connected') return;
      lastWrite = Date.now();
      try {
        await writePresence(store, snapshot());
        failures = 0;
      } catch (err) {
        onError(`presence not written: ${coerceError(err).message}`);
        schedule(backoffMs(failures++, 500, 30_000));
      }
    });
    return writing;
  };
  const schedule = (ms: number) => {
    if (!timer && !stopped) {
      timer = setTimeout(write, ms);
      timer.unref();
    }
  };
  return {
    changed: () => schedule(Math.max(0, lastWrite + PRESENCE_MIN_INTERVAL_MS - Date.now())),
    flush: () => {
      clearTimeout(timer);
      return write();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await writing;
      const { kind, id } = snapshot();
      try {
        await removePresence(store, kind, id);
      } catch (err) {
        if (!isDistciError(err)) throw err;
      }
    },
  };
}
