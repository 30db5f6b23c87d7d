/**
 * The line index of a step's log: one small immutable JSON object per chunk
 * (`…/logs/<step>/<attempt>/index/<chunk>`, `blobKeys.logIndex`), written by the worker's log writer
 * right after the chunk, so that a frontend answers "lines a..b" by reading a few index objects and the
 * one or two chunks that hold those lines — never the whole log.
 *
 * An entry says where its chunk sits in the log (bytes and newlines before it), what it holds (bytes,
 * newlines), the ANSI SGR state at its first byte, when its first byte was written, and a checkpoint
 * every `LOG_CHECKPOINT_LINES` lines (the line's byte offset in the chunk, when it was written, the SGR
 * state at its start). Logs written before the index existed have no index objects: a reader builds the
 * same entries from the chunks (`LogIndexer`, the one implementation both sides use).
 *
 * Lines: line L (0-based) starts after the L-th newline (`\n`; a `\r` before it belongs to the line and
 * is dropped by viewers). A log of N newlines has N lines, plus one when bytes follow the last newline.
 *
 * ANSI: the SGR state is kept as the escape sequence that sets it from plain (`''` when plain), e.g.
 * `\x1b[1;31m`, so a viewer applies it with the parser it already has. The state machine mirrors the
 * dashboard's (`frontend/src/dashboard/client/ansi.ts`): the same escapes, the same SGR codes.
 */

/** 1,000 lines: at most this many lines are skipped (one `indexOf` each) to reach any line of a chunk. */
export const LOG_CHECKPOINT_LINES = 1000;

/** A checkpoint: [line (0-based, in the log), its byte offset in the chunk, ms when written or null, SGR state]. */
export type LogCheckpoint = [line: number, offset: number, time: number | null, ansi: string];

export interface LogIndexEntry {
  /** Format version: 1. */
  v: 1;
  chunk: number;
  /** Bytes of the log before this chunk. */
  startByte: number;
  /** Newlines before this chunk: the chunk's first byte is in line `startLine`. */
  startLine: number;
  bytes: number;
  /** Newlines in this chunk. */
  newlines: number;
  /** Whether the log up to the end of this chunk ends with a newline (true when it is empty). */
  endsWithNewline: boolean;
  /** The SGR state at the chunk's first byte. */
  ansi: string;
  /** The start of an escape sequence the previous chunk ended with (latin1), when it did. */
  esc?: string;
  /** ms since the epoch when the chunk's first byte was written; null when unknown (built from chunks). */
  time: number | null;
  /** Lines that start in this chunk whose number is a multiple of LOG_CHECKPOINT_LINES. */
  checkpoints: LogCheckpoint[];
}

interface SgrState {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: SgrState = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

/** The escape sequence that sets `s` from plain ('' for plain). */
function encodeSgr(s: SgrState): string {
  const parts: string[] = [];
  if (s.bold) parts.push('1');
  if (s.dim) parts.push('2');
  if (s.italic) parts.push('3');
  if (s.underline) parts.push('4');
  if (s.fg) parts.push(s.fg);
  if (s.bg) parts.push(s.bg);
  return parts.length ? `\x1b[${parts.join(';')}m` : '';
}

/** Applies one SGR parameter list (as the dashboard's `applySgr` does). */
function applySgr(state: SgrState, params: string): SgrState {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  const s = { ...state };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(s, PLAIN);
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) s.fg = String(c);
    else if (c === 39) s.fg = null;
    else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) s.bg = String(c);
    else if (c === 49) s.bg = null;
    else if (c === 38 || c === 48) {
      const key = c === 38 ? 'fg' : 'bg';
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        s[key] = `${c};5;${codes[i + 2]! & 255}`;
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        s[key] = `${c};2;${codes[i + 2]! & 255};${codes[i + 3]! & 255};${codes[i + 4]! & 255}`;
        i += 4;
      } else break;
    }
  }
  return s;
}

const ESC = 0x1b;
const NL = 0x0a;
/** An escape sequence longer than this is not an SGR a terminal would honour: not carried across chunks. */
const MAX_CARRY = 64;

/** Parses an SGR sequence at `at` (an ESC) in `buf`: its params and end, 'partial' when cut off, or null. */
function sgrAt(buf: Buffer, at: number): { params: string; end: number } | 'partial' | null {
  if (at + 1 >= buf.length) return 'partial';
  if (buf[at + 1] !== 0x5b) return null; // not CSI
  let i = at + 2;
  for (; i < buf.length; i++) {
    const b = buf[i]!;
    // params: 0-9 ; : ?
    if ((b >= 0x30 && b <= 0x39) || b === 0x3b || b === 0x3a || b === 0x3f) continue;
    if (b >= 0x40 && b <= 0x7e) {
      return b === 0x6d ? { params: buf.toString('latin1', at + 2, i), end: i + 1 } : null;
    }
    return null;
  }
  return 'partial';
}

/**
 * Builds index entries chunk after chunk, in order (the writer as it writes, a reader over an unindexed
 * log). `marks` are write times inside the chunk: [byte offset, ms], ascending — a checkpoint takes the
 * time of the last write at or before its line's start.
 */
export class LogIndexer {
  private chunk = 0;
  private startByte = 0;
  private newlinesBefore = 0;
  private sgr: SgrState = { ...PLAIN };
  private endsWithNewline = true;
  /** The start of an escape sequence cut off by the chunk's end. */
  private carry: Buffer = Buffer.alloc(0);

  /** Continues after `entry`'s chunk (whose bytes are `bytes`): how a reader completes a partly indexed log. */
  static after(entry: LogIndexEntry, bytes: Buffer): LogIndexer {
    const ix = new LogIndexer();
    ix.chunk = entry.chunk;
    ix.startByte = entry.startByte;
    ix.newlinesBefore = entry.startLine;
    ix.sgr = applyEncoded(entry.ansi);
    ix.carry = Buffer.from(entry.esc ?? '', 'latin1');
    ix.endsWithNewline = entry.endsWithNewline; // what an empty chunk keeps
    ix.add(bytes, entry.time);
    return ix;
  }

  get nextChunk(): number {
    return this.chunk;
  }

  add(bytes: Buffer, time: number | null, marks: Array<[number, number]> = []): LogIndexEntry {
    const entry: LogIndexEntry = {
      v: 1,
      chunk: this.chunk,
      startByte: this.startByte,
      startLine: this.newlinesBefore,
      bytes: bytes.length,
      newlines: 0,
      endsWithNewline: bytes.length ? bytes[bytes.length - 1] === NL : this.endsWithNewline,
      ansi: encodeSgr(this.sgr),
      ...(this.carry.length ? { esc: this.carry.toString('latin1') } : {}),
      time,
      checkpoints: [],
    };
    let mark = -1;
    const timeAt = (offset: number): number | null => {
      while (mark + 1 < marks.length && marks[mark + 1]![0] <= offset) mark++;
      return mark >= 0 ? marks[mark]![1] : time;
    };
    // Escapes first (rare in most logs: one indexOf finds there are none), interleaved with newlines
    // so that a checkpoint's state is the state at its line's start.
    const scan = this.carry.length ? Buffer.concat([this.carry, bytes]) : bytes;
    const shift = this.carry.length; // offsets in `scan` minus this are offsets in `bytes`
    this.carry = Buffer.alloc(0);
    let esc = scan.indexOf(ESC);
    let nl = bytes.indexOf(NL);
    let line = this.newlinesBefore;
    for (;;) {
      const escAt = esc < 0 ? Number.POSITIVE_INFINITY : esc - shift;
      if (nl >= 0 && nl < escAt) {
        line++;
        entry.newlines++;
        if (line % LOG_CHECKPOINT_LINES === 0 && nl + 1 < bytes.length) {
          entry.checkpoints.push([line, nl + 1, timeAt(nl + 1), encodeSgr(this.sgr)]);
        }
        nl = bytes.indexOf(NL, nl + 1);
        continue;
      }
      if (esc < 0) break;
      const m = sgrAt(scan, esc);
      if (m === 'partial') {
        if (scan.length - esc <= MAX_CARRY) this.carry = Buffer.from(scan.subarray(esc));
        break;
      }
      if (m) this.sgr = applySgr(this.sgr, m.params);
      esc = scan.indexOf(ESC, m ? m.end : esc + 1);
    }
    // Newlines after a cut-off escape (they cannot be inside it: a newline ends any SGR).
    while (nl >= 0) {
      line++;
      entry.newlines++;
      if (line % LOG_CHECKPOINT_LINES === 0 && nl + 1 < bytes.length) {
        entry.checkpoints.push([line, nl + 1, timeAt(nl + 1), encodeSgr(this.sgr)]);
      }
      nl = bytes.indexOf(NL, nl + 1);
    }
    if (this.carry.length && this.carry.includes(NL)) this.carry = Buffer.alloc(0);
    this.endsWithNewline = entry.endsWithNewline;
    this.chunk++;
    this.startByte += bytes.length;
    this.newlinesBefore += entry.newlines;
    return entry;
  }
}

function applyEncoded(ansi: string): SgrState {
  if (!ansi) return { ...PLAIN };
  // Our own encoding: ESC [ params m.
  return ansi.startsWith('\x1b[') && ansi.endsWith('m') ? applySgr(PLAIN, ansi.slice(2, -1)) : { ...PLAIN };
}

/** The SGR state after `text` (bytes of whole lines), starting from `ansi`. */
export function advanceSgr(ansi: string, text: Buffer): string {
  let at = text.indexOf(ESC);
  if (at < 0) return ansi;
  let s = applyEncoded(ansi);
  while (at >= 0) {
    const m = sgrAt(text, at);
    if (m === 'partial') break;
    if (m) s = applySgr(s, m.params);
    at = text.indexOf(ESC, m ? m.end : at + 1);
  }
  return encodeSgr(s);
}

/** An index entry as stored (JSON), and back; null when the bytes are not an entry of this format. */
export function encodeLogIndex(entry: LogIndexEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

export function decodeLogIndex(bytes: Buffer): LogIndexEntry | null {
  try {
    const e = JSON.parse(bytes.toString('utf8')) as LogIndexEntry;
    if (e?.v !== 1 || !Number.isInteger(e.chunk) || !Array.isArray(e.checkpoints)) return null;
    return e;
  } catch {
    return null;
  }
}

// The text a reader sees, for search: the dashboard's `plainText` (ansi.ts), the same expression.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are what this matches
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

/** A line as shown: what follows its last inner `\r`, escapes removed. */
export function plainLine(raw: string): string {
  const trimmed = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const cr = trimmed.lastIndexOf('\r');
  const line = cr < 0 ? trimmed : trimmed.slice(cr + 1);
  return line.includes('\x1b') ? line.replace(ESCAPE, '') : line;
}
