/// <reference lib="dom" />
/**
 * A step's log as lines, appended chunk by chunk (a chunk may end mid-line), with lazily computed ANSI
 * checkpoints (the state at every 256th line start) so that showing line 2,999,999 parses only the
 * lines on screen, after one escape-only scan (`advance`) from the nearest checkpoint.
 */
import { type AnsiState, advance, PLAIN, plainText } from './ansi.js';

/** 256 lines per checkpoint: at most 255 lines scanned before any line is shown. */
const CHECKPOINT = 256;

export class LogLines {
  private complete: string[] = [];
  private partial = '';
  private checkpoints: AnsiState[] = [PLAIN];

  get count(): number {
    return this.complete.length + (this.partial ? 1 : 0);
  }

  line(i: number): string {
    return i < this.complete.length ? this.complete[i]! : this.partial;
  }

  append(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const p of parts) this.complete.push(p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  clear(): void {
    this.complete = [];
    this.partial = '';
    this.checkpoints = [PLAIN];
  }

  /** The ANSI state at the start of line `i`. */
  stateAt(i: number): AnsiState {
    const k = Math.floor(i / CHECKPOINT);
    while (this.checkpoints.length <= k) {
      const from = (this.checkpoints.length - 1) * CHECKPOINT;
      let s = this.checkpoints[this.checkpoints.length - 1]!;
      for (let j = from; j < from + CHECKPOINT; j++) s = advance(s, this.line(j));
      this.checkpoints.push(s);
    }
    let s = this.checkpoints[k]!;
    for (let j = k * CHECKPOINT; j < i; j++) s = advance(s, this.line(j));
    return s;
  }

  /** Every line holding `query` (case-insensitive, in the text as shown) and the true number of occurrences. */
  search(query: string): { lines: number[]; total: number } {
    const q = query.toLowerCase();
    const lines: number[] = [];
    let total = 0;
    if (!q) return { lines, total };
    for (let i = 0; i < this.count; i++) {
      const raw = this.line(i);
      if (!raw.toLowerCase().includes(q) && !raw.includes('\x1b')) continue;
      const text = plainText(raw).toLowerCase();
      let n = 0;
      for (let at = text.indexOf(q); at >= 0; at = text.indexOf(q, at + q.length)) n++;
      if (n) {
        lines.push(i);
        total += n;
      }
    }
    return { lines, total };
  }
}
