/**
 * One shared reader per step log per process, fanned out to every follower of that log.
 *
 * A log is numbered immutable chunks written in order from 0, so "is there more" is one GET of chunk
 * `known` (404: not yet). Before this, each live follower asked that question itself every 500 ms: 500
 * followers of one busy step were 1,000 GETs a second and half a core of a frontend (issue 13, hole 7).
 * Now the followers of a log share one `LogFeed`: one probe loop every `pollMs` while anyone follows, a
 * probe asked for by many followers at once runs once (`catchUp` coalesces), and each chunk found is
 * read once and handed to every follower from a small window of recent chunks. A follower behind the
 * window (resuming from an old event id) reads its backlog itself, once, then joins the window.
 */

import { readBlob } from '../blob-helpers.js';
import type { BlobStore } from '../blob-store.js';
import { isDistciError } from '../errors.js';
import { blobKeys } from '../keys.js';

/** A step attempt's log, in the build whose keys hold it (a retried build's copied step: the earlier one). */
export interface LogRef {
  job: string;
  build: number;
  step: string;
  attempt: number;
}

/** 64 chunks (~1 minute of a chatty step, chunks come about once a second) … */
const WINDOW_CHUNKS = 64;
/** … and at most 8 MiB of them (a chunk may reach 4 MiB): the memory one followed log may hold. */
const WINDOW_BYTES = 8 * 1024 * 1024;

export interface LogFeed {
  /** Chunks the shared reader has seen (0 … known-1 exist). */
  readonly known: number;
  /**
   * Chunk `index` when the shared reader has seen it (from the window, or read once for a follower
   * behind it); null when it has not (yet): wait for the subscription, or `catchUp`.
   */
  chunk(index: number): Promise<Buffer | null>;
  /**
   * Looks for new chunks now, with a probe that starts after this call (so a follower that saw the
   * step finished, then catches up, has every chunk there is). Concurrent calls share probes.
   */
  catchUp(): Promise<void>;
  /** Stops following: the last follower to leave stops the reader. */
  close(): void;
}

interface FeedState {
  ref: LogRef;
  known: number;
  /** index → bytes, oldest first (a Map keeps insertion order). */
  window: Map<number, Buffer>;
  windowBytes: number;
  followers: Set<() => void>;
  running: Promise<void> | null;
  queued: Promise<void> | null;
  timer: NodeJS.Timeout | undefined;
}

export interface LogFeeds {
  /** Follows a log: `onChunks` is called whenever new chunks are known. */
  follow(ref: LogRef, onChunks: () => void): LogFeed;
  /** Logs followed now (for tests and metrics). */
  readonly size: number;
}

/** Chunk `index` of a log, or null when it is not there (yet). */
export async function readLogChunk(blob: BlobStore, ref: LogRef, index: number): Promise<Buffer | null> {
  try {
    return await readBlob(blob, blobKeys.logChunk(ref.job, ref.build, ref.step, ref.attempt, index));
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

export function createLogFeeds(blob: BlobStore, pollMs: number): LogFeeds {
  const feeds = new Map<string, FeedState>();

  const probe = async (s: FeedState) => {
    for (;;) {
      const bytes = await readLogChunk(blob, s.ref, s.known);
      if (!bytes) return;
      s.window.set(s.known, bytes);
      s.windowBytes += bytes.length;
      s.known++;
      while (s.window.size > WINDOW_CHUNKS || (s.window.size > 1 && s.windowBytes > WINDOW_BYTES)) {
        const [oldest, old] = s.window.entries().next().value as [number, Buffer];
        s.window.delete(oldest);
        s.windowBytes -= old.length;
      }
      for (const notify of s.followers) notify();
    }
  };

  const catchUp = (s: FeedState): Promise<void> => {
    if (!s.running) {
      s.running = probe(s).finally(() => {
        s.running = null;
      });
      return s.running;
    }
    // A probe is running but may have passed the point this caller needs: one more after it, shared.
    s.queued ??= s.running
      .catch(() => {})
      .then(() => {
        s.queued = null;
        return catchUp(s);
      });
    return s.queued;
  };

  const tick = (s: FeedState) => {
    s.timer = setTimeout(() => {
      void catchUp(s)
        .catch(() => {}) // a follower's own catchUp reports store errors; the loop just goes on
        .finally(() => {
          if (s.followers.size > 0) tick(s);
        });
    }, pollMs);
    s.timer.unref();
  };

  return {
    get size() {
      return feeds.size;
    },
    follow(ref, onChunks) {
      const key = `${ref.job}/${ref.build}/${ref.step}/${ref.attempt}`;
      let s = feeds.get(key);
      if (!s) {
        s = {
          ref,
          known: 0,
          window: new Map(),
          windowBytes: 0,
          followers: new Set(),
          running: null,
          queued: null,
          timer: undefined,
        };
        feeds.set(key, s);
      }
      const state = s;
      const notify = () => onChunks();
      state.followers.add(notify);
      if (state.followers.size === 1) {
        tick(state);
        void catchUp(state).catch(() => {});
      }
      let closed = false;
      return {
        get known() {
          return state.known;
        },
        async chunk(index) {
          if (index >= state.known) return null;
          return state.window.get(index) ?? readLogChunk(blob, ref, index);
        },
        catchUp: () => catchUp(state),
        close() {
          if (closed) return;
          closed = true;
          state.followers.delete(notify);
          if (state.followers.size === 0) {
            clearTimeout(state.timer);
            if (feeds.get(key) === state) feeds.delete(key);
          }
        },
      };
    },
  };
}
