/**
 * Reading a step's log by lines, by bytes and by search, without reading all of it (issue 11).
 *
 * - Where things are: the per-chunk index entries (`log-index.ts`), read once and kept in an
 *   in-process LRU (entries are immutable: a chunk never changes). A log without index objects (written
 *   before they existed) is indexed here, from its chunks, once per process; a missing entry after
 *   indexed ones (the writer stored a chunk, then failed to store its index) is built from the chunk
 *   before it.
 * - Lines a..b: a binary search over entries finds the chunk holding line a's start, its nearest
 *   checkpoint gives the byte offset and the SGR state there, and the lines are cut from that chunk and
 *   the next ones (a line may span chunks). Chunks read are kept in a small LRU (scrolling through one
 *   chunk reads it once).
 * - Search: a streamed scan of the chunks (one held at a time, the next prefetched), counting every
 *   occurrence in the text as a viewer shows it (escapes removed, `\r` applied, case-insensitive), with
 *   the line numbers of the first `limit` matching lines.
 * - How many chunks: the caller's count (a finished step's `logChunks`, or what a client saw), else
 *   probed (HEAD of chunk n, n+1, n+2, n+4, … then bisected) from the last count this process knew.
 */
import { readBlob } from '../blob-helpers.js';
import type { BlobStore } from '../blob-store.js';
import { isDistciError } from '../errors.js';
import { blobKeys } from '../keys.js';
import type { LogRef } from './log-feed.js';
import { readLogChunk } from './log-feed.js';
import { advanceSgr, decodeLogIndex, type LogIndexEntry, LogIndexer, plainLine } from './log-index.js';

/** 256 logs' index entries in memory (an entry is a few hundred bytes to a few KiB). */
const INDEX_CACHE_LOGS = 256;
/** 48 MiB of chunks in memory (a chunk is at most 4 MiB). */
const CHUNK_CACHE_BYTES = 48 * 1024 * 1024;
const NL = 0x0a;

export interface LogSize {
  chunks: number;
  bytes: number;
  /** Lines: newlines, plus one when bytes follow the last. */
  lines: number;
  /** The last line has no newline (yet). */
  partial: boolean;
}

export interface LogLinesPage extends LogSize {
  /** The first line returned, 1-based. */
  from: number;
  /** The lines, without their `\n` (and one `\r` before it). */
  text: string[];
  /** The SGR state at the first line's start, as the escape sequence that sets it ('' = plain). */
  ansi: string;
  /** [line (1-based), ms]: that line and the ones after it were written at (or after) that time. */
  times: Array<[number, number]>;
}

export interface LogSearchResult {
  /** Occurrences in the whole log (the chunks searched). */
  total: number;
  /** Lines with at least one occurrence. */
  matchedLines: number;
  /** Line numbers (1-based) of matching lines after `after`, at most `limit`. */
  hits: number[];
  /** More matching lines follow the last of `hits`. */
  more: boolean;
  chunks: number;
  bytes: number;
}

export interface LogReader {
  /** The size of the log's first `chunks` chunks (default: every chunk stored now). */
  size(ref: LogRef, chunks?: number | null): Promise<LogSize>;
  /** `count` lines from line `from` (1-based); `tail`: the last `count` lines. */
  lines(
    ref: LogRef,
    options: { from?: number; count: number; tail?: boolean; chunks?: number | null },
  ): Promise<LogLinesPage>;
  search(
    ref: LogRef,
    query: string,
    options?: { chunks?: number | null; after?: number; limit?: number },
  ): Promise<LogSearchResult>;
  /** Bytes `start`..`end` (inclusive) of the log's first `chunks` chunks. */
  bytes(ref: LogRef, start: number, end: number, chunks: number): AsyncGenerator<Buffer>;
  /** Drops what this process holds (tests). */
  clear(): void;
}

interface LogState {
  entries: Map<number, LogIndexEntry>;
  /** Chunks known to exist (0 … known-1): a lower bound, logs only grow. */
  known: number;
  /** No index objects: entries are built here, in order. */
  legacy: LogIndexer | null;
  /** Serializes the legacy builder. */
  lock: Promise<unknown>;
}

const utf8 = new TextDecoder('utf-8');

function lineText(buf: Buffer): string {
  const end = buf.length && buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length;
  return utf8.decode(buf.subarray(0, end));
}

export function createLogReader(blob: BlobStore): LogReader {
  const logs = new Map<string, LogState>();
  const chunkCache = new Map<string, Buffer>();
  let chunkBytes = 0;

  const stateOf = (ref: LogRef): LogState => {
    const key = `${ref.job}/${ref.build}/${ref.step}/${ref.attempt}`;
    let s = logs.get(key);
    if (s) {
      logs.delete(key); // most recently used last
      logs.set(key, s);
      return s;
    }
    s = { entries: new Map(), known: 0, legacy: null, lock: Promise.resolve() };
    logs.set(key, s);
    while (logs.size > INDEX_CACHE_LOGS) logs.delete(logs.keys().next().value as string);
    return s;
  };

  const chunk = async (ref: LogRef, k: number): Promise<Buffer | null> => {
    const key = blobKeys.logChunk(ref.job, ref.build, ref.step, ref.attempt, k);
    const hit = chunkCache.get(key);
    if (hit) {
      chunkCache.delete(key);
      chunkCache.set(key, hit);
      return hit;
    }
    const bytes = await readLogChunk(blob, ref, k);
    if (!bytes) return null;
    chunkCache.set(key, bytes);
    chunkBytes += bytes.length;
    while (chunkBytes > CHUNK_CACHE_BYTES && chunkCache.size > 1) {
      const [oldest, old] = chunkCache.entries().next().value as [string, Buffer];
      chunkCache.delete(oldest);
      chunkBytes -= old.length;
    }
    return bytes;
  };

  const readIndex = async (ref: LogRef, k: number): Promise<LogIndexEntry | null> => {
    try {
      return decodeLogIndex(await readBlob(blob, blobKeys.logIndex(ref.job, ref.build, ref.step, ref.attempt, k)));
    } catch (err) {
      if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
      throw err;
    }
  };

  const buildLegacy = (s: LogState, ref: LogRef, k: number): Promise<LogIndexEntry | null> => {
    const run = s.lock.then(async () => {
      const builder = s.legacy!;
      while (builder.nextChunk <= k) {
        const at = builder.nextChunk;
        const bytes = await chunk(ref, at);
        if (!bytes) return null;
        s.entries.set(at, builder.add(bytes, null));
        s.known = Math.max(s.known, at + 1);
      }
      return s.entries.get(k) ?? null;
    });
    s.lock = run.catch(() => {});
    return run;
  };

  /** Entry `k`, or null when chunk `k` does not exist (yet). */
  const entry = async (s: LogState, ref: LogRef, k: number): Promise<LogIndexEntry | null> => {
    const hit = s.entries.get(k);
    if (hit) return hit;
    if (s.legacy) return buildLegacy(s, ref, k);
    const stored = await readIndex(ref, k);
    if (stored && stored.chunk === k) {
      s.entries.set(k, stored);
      s.known = Math.max(s.known, k + 1);
      return stored;
    }
    if (k === 0 || !(s.entries.has(0) || (await readIndex(ref, 0)))) {
      // No index at all: a log written before the index existed.
      if (!(await chunk(ref, 0))) return null;
      s.legacy ??= new LogIndexer();
      return buildLegacy(s, ref, k);
    }
    // Indexed, but not this chunk (the writer failed between the chunk and its index): build it.
    const prev = await entry(s, ref, k - 1);
    if (!prev) return null;
    const [prevBytes, bytes] = await Promise.all([chunk(ref, k - 1), chunk(ref, k)]);
    if (!prevBytes || !bytes) return null;
    const built = LogIndexer.after(prev, prevBytes).add(bytes, null);
    s.entries.set(k, built);
    s.known = Math.max(s.known, k + 1);
    return built;
  };

  const exists = async (ref: LogRef, k: number): Promise<boolean> =>
    (await blob.head(blobKeys.logChunk(ref.job, ref.build, ref.step, ref.attempt, k))) !== null;

  /** The number of chunks: `given` when it is at most what exists, else probed. */
  const chunkCount = async (s: LogState, ref: LogRef, given?: number | null): Promise<number> => {
    if (given != null && given <= s.known) return given;
    if (given != null && given > 0 && (await entry(s, ref, given - 1))) return given;
    let lo = s.known - 1; // chunks 0 … lo exist
    if (!(await exists(ref, lo + 1))) return lo + 1;
    lo++;
    let hi: number; // does not exist
    for (let step = 1; ; step *= 2) {
      if (await exists(ref, lo + step)) lo += step;
      else {
        hi = lo + step;
        break;
      }
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await exists(ref, mid)) lo = mid;
      else hi = mid;
    }
    s.known = Math.max(s.known, lo + 1);
    return lo + 1;
  };

  const sizeOf = async (s: LogState, ref: LogRef, chunks: number): Promise<LogSize> => {
    if (chunks === 0) return { chunks: 0, bytes: 0, lines: 0, partial: false };
    const last = await entry(s, ref, chunks - 1);
    if (!last) return { chunks: 0, bytes: 0, lines: 0, partial: false };
    const newlines = last.startLine + last.newlines;
    return {
      chunks,
      bytes: last.startByte + last.bytes,
      lines: newlines + (last.endsWithNewline ? 0 : 1),
      partial: !last.endsWithNewline,
    };
  };

  /** The first chunk whose end is at or after newline number `n` (1-based): the one holding it. */
  const chunkOfNewline = async (s: LogState, ref: LogRef, n: number, chunks: number): Promise<number> => {
    let lo = 0;
    let hi = chunks - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = (await entry(s, ref, mid))!;
      if (e.startLine + e.newlines >= n) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  return {
    clear() {
      logs.clear();
      chunkCache.clear();
      chunkBytes = 0;
    },

    async size(ref, chunks) {
      const s = stateOf(ref);
      return sizeOf(s, ref, await chunkCount(s, ref, chunks));
    },

    async lines(ref, options) {
      const s = stateOf(ref);
      const chunks = await chunkCount(s, ref, options.chunks);
      const size = await sizeOf(s, ref, chunks);
      const count = Math.max(0, options.count);
      const from = options.tail ? Math.max(1, size.lines - count + 1) : Math.max(1, options.from ?? 1);
      const page: LogLinesPage = { ...size, from, text: [], ansi: '', times: [] };
      const first = from - 1; // 0-based
      if (first >= size.lines || count === 0) return page;

      // Where line `first` starts: chunk k, offset p, with the SGR state and time there.
      let k = 0;
      let p = 0;
      let e = (await entry(s, ref, 0))!;
      let ansi = '';
      let time = e.time;
      if (first > 0) {
        k = await chunkOfNewline(s, ref, first, chunks);
        e = (await entry(s, ref, k))!;
        let line = e.startLine;
        let off = 0;
        ansi = e.ansi;
        time = e.time;
        for (const [cl, co, ct, ca] of e.checkpoints) {
          if (cl > first) break;
          [line, off, time, ansi] = [cl, co, ct ?? time, ca];
        }
        const bytes = (await chunk(ref, k))!;
        p = off;
        for (; line < first; line++) p = bytes.indexOf(NL, p) + 1;
        const skipped = bytes.subarray(off, p);
        // From the chunk's start: an escape cut off by the previous chunk ends in this one.
        ansi = advanceSgr(ansi, off === 0 && e.esc ? Buffer.concat([Buffer.from(e.esc, 'latin1'), skipped]) : skipped);
        if (p >= bytes.length) {
          k++;
          p = 0;
          const next = await entry(s, ref, k);
          if (next?.time != null) time = next.time;
        }
      }
      page.ansi = ansi;
      if (time !== null) page.times.push([from, time]);

      // Cut `count` lines from there, across chunks.
      let carry: Buffer[] = [];
      let line = first; // the line being cut (0-based)
      const out = page.text;
      for (let entering = false; out.length < count && k < chunks; k++, p = 0, entering = true) {
        const bytes = (await chunk(ref, k))!;
        const ek = await entry(s, ref, k);
        if (entering && ek?.time != null) page.times.push([(carry.length ? line + 1 : line) + 1, ek.time]);
        for (const [cl, , ct] of ek?.checkpoints ?? []) {
          if (cl > first && cl < first + count && ct !== null) page.times.push([cl + 1, ct]);
        }
        while (out.length < count) {
          const nl = bytes.indexOf(NL, p);
          if (nl < 0) {
            if (p < bytes.length) carry.push(bytes.subarray(p));
            break;
          }
          const part = bytes.subarray(p, nl);
          out.push(lineText(carry.length ? Buffer.concat([...carry, part]) : part));
          carry = [];
          line++;
          p = nl + 1;
        }
      }
      if (out.length < count && k >= chunks && carry.length) out.push(lineText(Buffer.concat(carry)));
      page.times.sort((a, b) => a[0] - b[0]);
      return page;
    },

    async search(ref, query, options = {}) {
      const s = stateOf(ref);
      const chunks = await chunkCount(s, ref, options.chunks);
      const q = query.toLowerCase();
      const after = options.after ?? 0;
      const limit = options.limit ?? 1000;
      const result: LogSearchResult = { total: 0, matchedLines: 0, hits: [], more: false, chunks, bytes: 0 };
      if (!q) return result;
      let lineBase = 0; // the 0-based number of the first line of `text`
      let carry: Buffer = Buffer.alloc(0);
      const onLine = (raw: string, n: number) => {
        const text = plainLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw).toLowerCase();
        let hits = 0;
        for (let at = text.indexOf(q); at >= 0; at = text.indexOf(q, at + q.length)) hits++;
        if (!hits) return;
        result.total += hits;
        result.matchedLines++;
        if (n + 1 > after) {
          if (result.hits.length < limit) result.hits.push(n + 1);
          else result.more = true;
        }
      };
      const scan = (text: string) => {
        const lower = text.toLowerCase();
        if (lower.length !== text.length) {
          // A character whose lower case has another length: offsets differ, go line by line.
          const lines = text.split('\n');
          if (lines[lines.length - 1] === '') lines.pop();
          for (let i = 0; i < lines.length; i++) onLine(lines[i]!, lineBase + i);
          return;
        }
        // Candidate lines: a raw match, or an escape (which may hide or split a match).
        let cursor = 0; // text offset whose line number is `line`
        let line = lineBase;
        let m = lower.indexOf(q);
        let x = text.indexOf('\x1b');
        while (m >= 0 || x >= 0) {
          const at = m < 0 ? x : x < 0 ? m : Math.min(m, x);
          for (let nl = text.indexOf('\n', cursor); nl >= 0 && nl < at; nl = text.indexOf('\n', nl + 1)) {
            line++;
            cursor = nl + 1;
          }
          let end = text.indexOf('\n', at);
          if (end < 0) end = text.length;
          onLine(text.slice(cursor, end), line);
          if (m >= 0 && m < end) m = lower.indexOf(q, end);
          if (x >= 0 && x < end) x = text.indexOf('\x1b', end);
        }
      };
      let next = chunks > 0 ? chunk(ref, 0) : null;
      for (let k = 0; k < chunks; k++) {
        const bytes = await next;
        next = k + 1 < chunks ? chunk(ref, k + 1) : null;
        if (!bytes) break;
        result.bytes += bytes.length;
        const data = carry.length ? Buffer.concat([carry, bytes]) : bytes;
        const cut = k === chunks - 1 ? data.length : data.lastIndexOf(NL) + 1;
        if (cut > 0) {
          scan(data.toString('utf8', 0, cut));
          let newlines = 0;
          for (let nl = data.indexOf(NL); nl >= 0 && nl < cut; nl = data.indexOf(NL, nl + 1)) newlines++;
          lineBase += newlines;
        }
        carry = cut < data.length ? Buffer.from(data.subarray(cut)) : Buffer.alloc(0);
      }
      return result;
    },

    async *bytes(ref, start, end, chunks) {
      const s = stateOf(ref);
      let lo = 0;
      let hi = chunks - 1;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const e = (await entry(s, ref, mid))!;
        if (e.startByte + e.bytes > start) hi = mid;
        else lo = mid + 1;
      }
      for (let k = lo; k < chunks; k++) {
        const e = (await entry(s, ref, k))!;
        if (e.startByte > end) return;
        const bytes = (await chunk(ref, k))!;
        const a = Math.max(0, start - e.startByte);
        const b = Math.min(bytes.length, end + 1 - e.startByte);
        if (b > a) yield bytes.subarray(a, b);
      }
    },
  };
}
