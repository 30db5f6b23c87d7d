/// <reference lib="dom" />
/**
 * A small ANSI SGR state machine for log lines (DASHBOARD.md §4.3). The viewer parses only the lines
 * it shows; the colour state at a line's start comes from `advance`, a scan that looks at escape
 * sequences only (no segments, no strings built), from a checkpoint every 256 lines.
 *
 * Handled: SGR 0/1/2/3/4/22/23/24/39/49, 16 colours (30-37, 90-97, 40-47, 100-107), 256 colours
 * (38;5;n / 48;5;n) and truecolor (38;2;r;g;b). `\r` inside a line keeps what follows the last one
 * (progress bars). Every other escape sequence (cursor moves, erase, OSC titles and links) is dropped:
 * its bytes never reach the page, and nothing is ever markup — segments become text nodes.
 */

export interface AnsiState {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

export interface Segment {
  text: string;
  state: AnsiState;
}

export const PLAIN: AnsiState = Object.freeze({
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
});

// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), and two-byte escapes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are what this matches
const ESCAPE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

/** A 256-colour index as CSS: 0-15 as palette classes (`c3`, themed), the rest as rgb(). */
function colour256(n: number): string {
  if (n < 16) return `c${n}`;
  if (n < 232) {
    const v = [0, 95, 135, 175, 215, 255];
    const i = n - 16;
    return `rgb(${v[Math.floor(i / 36)]},${v[Math.floor(i / 6) % 6]},${v[i % 6]})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

function applySgr(state: AnsiState, params: string): AnsiState {
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
    else if (c >= 30 && c <= 37) s.fg = `c${c - 30}`;
    else if (c >= 90 && c <= 97) s.fg = `c${c - 90 + 8}`;
    else if (c === 39) s.fg = null;
    else if (c >= 40 && c <= 47) s.bg = `c${c - 40}`;
    else if (c >= 100 && c <= 107) s.bg = `c${c - 100 + 8}`;
    else if (c === 49) s.bg = null;
    else if (c === 38 || c === 48) {
      const key = c === 38 ? 'fg' : 'bg';
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        s[key] = colour256(codes[i + 2]! & 255);
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        s[key] = `rgb(${codes[i + 2]! & 255},${codes[i + 3]! & 255},${codes[i + 4]! & 255})`;
        i += 4;
      } else break;
    }
  }
  return s;
}

/** What follows the last carriage return that is not at the end (a progress bar's final state). */
function afterReturns(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = trimmed.lastIndexOf('\r');
  return cr < 0 ? trimmed : trimmed.slice(cr + 1);
}

/** The state after a line (escape sequences only: cheap enough to run over every line before a jump). */
export function advance(state: AnsiState, line: string): AnsiState {
  if (!line.includes('\x1b')) return state;
  let s = state;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(line); m; m = ESCAPE.exec(line)) if (m[2] === 'm') s = applySgr(s, m[1]!);
  return s;
}

/** A line as styled segments, starting in `state`. */
export function parseLine(state: AnsiState, raw: string): Segment[] {
  const line = afterReturns(raw);
  if (!line.includes('\x1b')) return line ? [{ text: line, state }] : [];
  const out: Segment[] = [];
  let s = state;
  let at = 0;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(line); m; m = ESCAPE.exec(line)) {
    if (m.index > at) out.push({ text: line.slice(at, m.index), state: s });
    if (m[2] === 'm') s = applySgr(s, m[1]!);
    at = m.index + m[0].length;
  }
  if (at < line.length) out.push({ text: line.slice(at), state: s });
  return out;
}

/** The text a reader sees (for search): escapes removed, `\r` applied. */
export function plainText(raw: string): string {
  const line = afterReturns(raw);
  return line.includes('\x1b') ? line.replace(ESCAPE, '') : line;
}
