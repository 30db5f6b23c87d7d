/**
 * The stored tokens, as this frontend last read them: looked up in memory on every request, so a flood
 * of bad tokens costs no object-store read per request (at most one LIST a second,
 * `MISS_REFRESH_MS`), and the rate limit can count a valid token's requests apart from its IP's.
 *
 * The snapshot is re-read when a request comes and it is older than `REFRESH_MS` (no timer, nothing to
 * stop): a token made or removed on another frontend counts here within that time; one made here
 * counts here at once (`invalidate`). The frontend stays stateless: this is a cache of the store.
 */
import { type BlobStore, readTokenRecords } from '@distci/common';
import type { Grant } from './grants.js';

/** 5 s: how stale a removed token may be on another frontend (a removal is rare and deliberate). */
export const REFRESH_MS = 5000;
/** 1 s: an unknown token re-reads the list at most this often (a new token from another frontend). */
export const MISS_REFRESH_MS = 1000;

export interface TokenRegistry {
  /** The grant of the token whose sha256 is `digestHex`, or null. */
  lookup(digestHex: string): Promise<Grant | null>;
  /** Forgets the snapshot (after a token was made or removed here). */
  invalidate(): void;
}

export function createTokenRegistry(blob: BlobStore, now: () => number = Date.now): TokenRegistry {
  let grants = new Map<string, Grant>();
  let readAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | null = null;
  let loaded = false;

  const refresh = (): Promise<void> => {
    reading ??= (async () => {
      const started = now();
      const next = new Map<string, Grant>();
      for (const { digest, record } of await readTokenRecords(blob)) {
        next.set(digest, { caller: `token:${digest.slice(0, 8)}`, role: record.role, jobs: record.jobs });
      }
      grants = next;
      readAt = started;
      loaded = true;
    })().finally(() => {
      reading = null;
    });
    return reading;
  };

  return {
    async lookup(digestHex) {
      // A store that cannot be read: answer from the last snapshot when there is one (it was right a
      // moment ago), and try again on a later request; with none, the request fails (503).
      const tryRefresh = () =>
        refresh().catch((err) => {
          if (!loaded) throw err;
          readAt = now(); // retry after REFRESH_MS, not on every request
        });
      if (now() - readAt > REFRESH_MS) await tryRefresh();
      const found = grants.get(digestHex);
      if (found || now() - readAt <= MISS_REFRESH_MS) return found ?? null;
      await tryRefresh();
      return grants.get(digestHex) ?? null;
    },
    invalidate() {
      readAt = Number.NEGATIVE_INFINITY;
    },
  };
}
