/**
 * Log text made safe for the terminal that prints it. A step's log is written by the step's commands,
 * so it may hold escape sequences that act on the reader's terminal: OSC 0/2 retitles the window,
 * OSC 52 writes the clipboard, OSC 8 hides a link's target, DCS and CSI sequences move the cursor over
 * earlier lines, query the terminal or switch screens.
 *
 * | where the log goes | what is kept |
 * |---|---|
 * | a terminal (stdout is a TTY) | text, `\n`, `\t`, `\r` and SGR colour/style sequences (`ESC [ … m`); every other escape sequence and control character is removed |
 * | a pipe or a file | text, `\n`, `\t`, `\r`: every escape sequence is removed, colours too |
 * | `--raw` | the bytes as they were logged (for tools that want them; never shown to a terminal by distci otherwise) |
 * | `--json` | the text as logged, inside JSON strings (escaped by JSON itself) |
 *
 * Streams arrive in chunks: a sequence cut at a chunk's end is held back until the next chunk (at most
 * MAX_HELD characters; a longer unfinished sequence is dropped).
 */

/** 4096 characters: an OSC 52 clipboard write of 3 KB of text; a legitimate SGR is under 40. */
const MAX_HELD = 4096;

/** One escape sequence: CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC (ended by ST), or a short ESC sequence. */
const SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what this matches
  /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_][\s\S]*?\x1b\\|\x1b[ -/]*[0-~]/g;
/** SGR: select graphic rendition (colours, bold, …): parameters only, final `m`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ESC of the sequence
const SGR = /^\x1b\[[0-9;:]*m$/;
/** Control characters other than \t \n \r, DEL, and the C1 range (0x9b is a one-byte CSI to some terminals). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]/g;
/** Both, in one pass: removing controls first would leave the payload of every sequence behind. */
const ANY = new RegExp(`${SEQUENCE.source}|${CONTROL.source}`, 'g');
/** An escape sequence begun at the end of a chunk and not finished there. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ESC of the sequence
const UNFINISHED = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[PX^_][\s\S]*|[ -/]*)?$/;

export type TerminalMode = 'tty' | 'plain' | 'raw';

/** The mode for stdout: `raw` when asked, `tty` on a terminal, else `plain`. */
export function terminalMode(raw: boolean, isTTY: boolean | undefined = process.stdout.isTTY): TerminalMode {
  return raw ? 'raw' : isTTY ? 'tty' : 'plain';
}

/** `text` with what `mode` removes removed (one complete piece of text). */
export function cleanText(text: string, mode: TerminalMode): string {
  if (mode === 'raw') return text;
  return text.replace(ANY, (seq) => (mode === 'tty' && SGR.test(seq) ? seq : ''));
}

/** A cleaner for a stream of chunks: holds back a sequence cut between two chunks. `end()` flushes. */
export function createTextCleaner(mode: TerminalMode): { push(chunk: string): string; end(): string } {
  let held = '';
  return {
    push(chunk) {
      if (mode === 'raw') return chunk;
      let text = held + chunk;
      held = '';
      const cut = UNFINISHED.exec(text);
      if (cut && cut[0].length > 0) {
        held = cut[0].length <= MAX_HELD ? cut[0] : '';
        text = text.slice(0, cut.index);
      }
      return cleanText(text, mode);
    },
    end() {
      const rest = held;
      held = '';
      return mode === 'raw' ? rest : cleanText(rest, mode);
    },
  };
}
