/**
 * A step's log, written as numbered immutable chunks (`builds/<job>/<n>/logs/<step>/<attempt>/<chunk>`)
 * about once a second, so it can be followed live and resumed without loss: a chunk, once written,
 * never changes, and a gap in the numbers is visible, never silent.
 *
 * UTF-8 safe: a chunk never ends inside a multi-byte character (the trailing partial character waits
 * for the next chunk), so each chunk decodes on its own (DistCI dropped output split across reads).
 * Secrets are masked before bytes reach the writer (a masking stage in front of it holds back just
 * enough bytes to catch a secret split across writes).
 *
 * Line index (issue 11): after each chunk, the writer stores that chunk's index entry
 * (`…/index/<chunk>`, `log-index.ts`: bytes and newlines before it and in it, the ANSI state at its
 * start, when its first byte was written, and a checkpoint every 1,000 lines with its offset, time and
 * ANSI state), so a viewer reads any lines of a 200 MB log without reading the log. The times are those
 * of the writes (the masking stage passes bytes on at once): they never enter the log's bytes.
 */
import { coerceError, LogIndexer, type LogsService } from '@distci/common';

/** ~1 s: live enough to watch, and at most one PUT a second per running step. */
export const LOG_FLUSH_MS = 1000;
/**
 * 100 ms for the first chunk: a person watching a build sees its first output at once (the bench
 * measured trigger → first log byte of a short step at the step's end, ~90 ms p50, when every chunk
 * waited a second). One more PUT per step, only for steps that run longer than this.
 */
export const LOG_FIRST_FLUSH_MS = 100;
/** 4 MiB: a chunk is flushed early when this much is waiting (fast output, e.g. 50 MB in seconds). */
export const LOG_CHUNK_BYTES = 4 * 1024 * 1024;

/** Bytes at the end of `buf` that are an incomplete UTF-8 sequence (0-3). */
export function incompleteUtf8Tail(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const byte = buf[n - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

export interface LogWriter {
  write(data: Buffer | string): void;
  /** Flushes what is left (even a partial character) and waits for every chunk; returns the chunk count. */
  close(): Promise<number>;
  /** Chunks written so far. */
  readonly chunks: number;
  /**
   * Bytes written but not stored yet (waiting for the next chunk or being uploaded). A fast producer
   * pauses while this is high and resumes on `drained()`, so a step printing faster than the object
   * store takes it cannot fill the worker's memory. Optional: test doubles need not implement it.
   */
  readonly backlog?: number;
  /** Resolves when every chunk flushed so far is stored (or failed). */
  drained?(): Promise<void>;
}

export interface LogTarget {
  job: string;
  build: number;
  step: string;
  attempt: number;
}

export function createLogWriter(
  logs: Pick<LogsService, 'append'> & Partial<Pick<LogsService, 'appendIndex'>>,
  target: LogTarget,
  options: { flushMs?: number; chunkBytes?: number } = {},
): LogWriter {
  const flushMs = options.flushMs ?? LOG_FLUSH_MS;
  const chunkBytes = options.chunkBytes ?? LOG_CHUNK_BYTES;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** When each write of the pending bytes arrived: [offset in pending, ms]. */
  let marks: Array<[number, number]> = [];
  const indexer = new LogIndexer();
  let next = 0;
  let uploading = 0;
  let failed: Error | null = null;
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const flush = (final: boolean) => {
    clearTimeout(timer);
    timer = undefined;
    const data = Buffer.concat(pending, pendingBytes);
    const keep = final ? 0 : incompleteUtf8Tail(data);
    const out = data.subarray(0, data.length - keep);
    pending = keep ? [Buffer.from(data.subarray(data.length - keep))] : [];
    pendingBytes = keep;
    const outMarks = marks.filter(([at]) => at < out.length);
    marks = keep ? [[0, (outMarks[outMarks.length - 1] ?? [0, Date.now()])[1]]] : [];
    if (out.length === 0) return;
    const index = next++;
    const entry = logs.appendIndex ? indexer.add(out, outMarks[0]?.[1] ?? Date.now(), outMarks) : null;
    // Chunks go up in order, one at a time: a reader never sees chunk n+1 before chunk n.
    uploading += out.length;
    writing = writing.then(async () => {
      try {
        if (!failed) await logs.append(target, index, out);
        // After the chunk: an index entry never names a chunk that is not there. A failed index write
        // loses no log byte: a reader builds the missing entry from the chunks.
        if (!failed && entry) await logs.appendIndex!(target, entry).catch(() => {});
      } catch (err) {
        failed = coerceError(err);
      } finally {
        uploading -= out.length;
      }
    });
  };

  return {
    get chunks() {
      return next;
    },
    get backlog() {
      return pendingBytes + uploading;
    },
    drained() {
      return writing;
    },
    write(data) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      if (buf.length === 0) return;
      marks.push([pendingBytes, Date.now()]);
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes >= chunkBytes) flush(false);
      else timer ??= setTimeout(() => flush(false), next === 0 ? Math.min(flushMs, LOG_FIRST_FLUSH_MS) : flushMs);
    },
    async close() {
      flush(true);
      await writing;
      if (failed) throw failed;
      return next;
    },
  };
}
