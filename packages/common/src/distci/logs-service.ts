/**
 * `distci.logs`: a step attempt's log — append a chunk and its line index (the worker's log writer),
 * read one, follow one live through the process's shared readers (`log-feed.ts`), and read it by
 * lines, bytes or search without reading all of it (`log-reader.ts`, `log-index.ts`).
 */
import type { BlobStore } from '../blob-store.js';
import { blobKeys } from '../keys.js';
import { createLogFeeds, type LogFeed, type LogRef, readLogChunk } from './log-feed.js';
import { encodeLogIndex, type LogIndexEntry } from './log-index.js';
import { createLogReader, type LogReader } from './log-reader.js';

/** 500 ms: how often a followed log is looked at (chunks come about once a second). */
export const LOG_POLL_MS = 500;

export interface LogsService {
  /** Stores chunk `index` (create-or-replace: every attempt writes its own keys). */
  append(ref: LogRef, index: number, body: Buffer): Promise<void>;
  /** Stores the line index of chunk `entry.chunk` (written after the chunk). */
  appendIndex(ref: LogRef, entry: LogIndexEntry): Promise<void>;
  /** Chunk `index`, or null when it is not there (yet). */
  read(ref: LogRef, index: number): Promise<Buffer | null>;
  /** Follows a log through this process's one shared reader of it; `onChunks` says more are known. */
  follow(ref: LogRef, onChunks: () => void): LogFeed;
  /** Logs followed now. */
  followed(): number;
  /** Lines, bytes and search of a log, through this process's cache of line indexes. */
  readonly reader: LogReader;
}

export function openLogs(blob: BlobStore, options: { pollMs?: number } = {}): LogsService {
  const feeds = createLogFeeds(blob, options.pollMs ?? LOG_POLL_MS);
  return {
    async append(ref, index, body) {
      await blob.put(blobKeys.logChunk(ref.job, ref.build, ref.step, ref.attempt, index), body, {
        contentType: 'text/plain; charset=utf-8',
      });
    },
    async appendIndex(ref, entry) {
      await blob.put(blobKeys.logIndex(ref.job, ref.build, ref.step, ref.attempt, entry.chunk), encodeLogIndex(entry), {
        contentType: 'application/json',
      });
    },
    read: (ref, index) => readLogChunk(blob, ref, index),
    follow: (ref, onChunks) => feeds.follow(ref, onChunks),
    followed: () => feeds.size,
    reader: createLogReader(blob),
  };
}
