/// <reference lib="dom" />
/**
 * The lines of a step's log that the viewer holds: a sparse window of a log that may be 3 M lines long.
 *
 * - `count` is the log's length (from the server's `…/lines` answers, then the live tail); the text of
 *   only some lines is here: pages fetched by number (`setLines`) around what is on screen, and the tail
 *   appended chunk by chunk from the live stream (`append`, a chunk may end mid-line). At most
 *   `MAX_LINES` are kept: the ones farthest from the view are dropped (`evict`) and fetched again if
 *   they come back into view.
 * - ANSI: each server answer carries the SGR state at its first line (a checkpoint); the state at any
 *   line is one escape-only scan (`advance`) from the nearest checkpoint above it.
 * - Times: `[line, ms]` marks (from the server's line index, and the arrival of live chunks); a line's
 *   time is the last mark at or before it (coarse: per chunk, and every 1,000 lines).
 */
import { type AnsiState, advance, PLAIN } from './ansi.js';

/** Lines per page: what is fetched together and what "loaded" means. */
export const PAGE = 256;
/** 16k lines in memory at most (~1-2 MB of text for typical logs). */
const MAX_LINES = 16_384;

export class LogLines {
  /** Lines in the log as far as this viewer knows it. */
  count = 0;
  /** The last line has no newline yet (the next chunk continues it). */
  partial = false;
  private text = new Map<number, string>();
  private checkpoints = new Map<number, AnsiState>();
  private marks: Array<[number, number]> = [];

  line(i: number): string | undefined {
    return this.text.get(i);
  }

  clear(): void {
    this.count = 0;
    this.partial = false;
    this.text.clear();
    this.checkpoints.clear();
    this.marks = [];
  }

  /** A server page: lines `from` (0-based) …, the SGR state at `from` (as an escape sequence). */
  setLines(from: number, lines: string[], ansi: string, times: Array<[number, number]> = []): void {
    for (let i = 0; i < lines.length; i++) this.text.set(from + i, lines[i]!);
    if (lines.length) this.checkpoints.set(from, advance(PLAIN, ansi));
    for (const [line, ms] of times) this.mark(line - 1, ms);
  }

  /** A chunk of the live tail (text after the last line known). */
  append(chunk: string, ms?: number): void {
    if (!chunk) return;
    const parts = chunk.split('\n');
    let idx = this.partial ? this.count - 1 : this.count;
    if (ms !== undefined) this.mark(this.partial ? idx + 1 : idx, ms);
    for (let j = 0; j < parts.length; j++) {
      const last = j === parts.length - 1;
      if (last && parts[j] === '' && !(j === 0 && this.partial)) break;
      let s: string | undefined = parts[j]!;
      if (j === 0 && this.partial) {
        const head = this.text.get(idx);
        s = head === undefined ? undefined : head + s;
      }
      if (s !== undefined && !last && s.endsWith('\r')) s = s.slice(0, -1);
      if (s === undefined) this.text.delete(idx);
      else if (this.text.has(idx - 1) || idx % PAGE === 0 || this.text.has(idx)) {
        // A page boundary reached by the tail: a checkpoint, so colours hold however long it runs.
        if (idx % PAGE === 0 && idx > 0 && this.text.has(idx - 1) && !this.checkpoints.has(idx)) {
          this.checkpoints.set(idx, this.stateAt(idx));
        }
        this.text.set(idx, s);
      }
      idx++;
    }
    this.count = Math.max(this.count, idx);
    this.partial = parts[parts.length - 1] !== '';
  }

  /** Whether every line of page `p` (within the log) is here. */
  loaded(p: number): boolean {
    const first = p * PAGE;
    const last = Math.min(this.count, first + PAGE) - 1;
    if (last < first) return true;
    for (let i = first; i <= last; i += 1) if (!this.text.has(i)) return false;
    return true;
  }

  /** The ANSI state at the start of line `i`: from the nearest checkpoint above it with every line between here. */
  stateAt(i: number): AnsiState {
    let j = i;
    const stop = Math.max(0, i - 4 * PAGE);
    while (j > stop && !this.checkpoints.has(j) && this.text.has(j - 1)) j--;
    let s = this.checkpoints.get(j) ?? PLAIN;
    for (; j < i; j++) s = advance(s, this.text.get(j) ?? '');
    return s;
  }

  /** The write time of line `i` (ms), or null when unknown. */
  timeAt(i: number): number | null {
    let lo = 0;
    let hi = this.marks.length - 1;
    let found: number | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.marks[mid]![0] <= i) {
        found = this.marks[mid]![1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private mark(line: number, ms: number): void {
    const m = this.marks;
    let at = m.length;
    while (at > 0 && m[at - 1]![0] > line) at--;
    if (at > 0 && m[at - 1]![0] === line) m[at - 1] = [line, ms];
    else m.splice(at, 0, [line, ms]);
  }

  /** Keeps at most MAX_LINES lines: drops the ones farthest from `center` (never the tail's last page). */
  evict(center: number): void {
    if (this.text.size <= MAX_LINES) return;
    const keep = MAX_LINES / 2;
    const tail = this.count - PAGE;
    for (const i of this.text.keys()) {
      if (Math.abs(i - center) > keep && i < tail) {
        this.text.delete(i);
        this.checkpoints.delete(i);
      }
    }
  }
}
