/**
 * `distci.logs`: a step attempt's log — append a chunk (the worker's log writer), read one, and follow
 * one live through the process's shared readers (`log-feed.ts`).
 */
import type { BlobStore } from '../blob-store.js';
import { blobKeys } from '../keys.js';
import { createLogFeeds, type LogFeed, type LogRef, readLogChunk } from './log-feed.js';

/** 500 ms: how often a followed log is looked at (chunks come about once a second). */
export const LOG_POLL_MS = 500;

export interface LogsService {
  /** Stores chunk `index` (create-or-replace: every attempt writes its own keys). */
  append(ref: LogRef, index: number, body: Buffer): Promise<void>;
  /** Chunk `index`, or null when it is not there (yet). */
  read(ref: LogRef, index: number): Promise<Buffer | null>;
  /** Follows a log through this process's one shared reader of it; `onChunks` says more are known. */
  follow(ref: LogRef, onChunks: () => void): LogFeed;
  /** Logs followed now. */
  followed(): number;
}

export function openLogs(blob: BlobStore, options: { pollMs?: number } = {}): LogsService {
  const feeds = createLogFeeds(blob, options.pollMs ?? LOG_POLL_MS);
  return {
    async append(ref, index, body) {
      await blob.put(blobKeys.logChunk(ref.job, ref.build, ref.step, ref.attempt, index), body, {
        contentType: 'text/plain; charset=utf-8',
      });
    },
    read: (ref, index) => readLogChunk(blob, ref, index),
    follow: (ref, onChunks) => feeds.follow(ref, onChunks),
    followed: () => feeds.size,
  };
}
