/**
 * Human output: status colours, durations, times and aligned tables. Colour follows picocolors' rules
 * (off when stdout is not a terminal, with NO_COLOR, or with FORCE_COLOR=0), so piped output and `--json`
 * stay plain.
 */
import pc from 'picocolors';

/** Build and step statuses as the API spells them, coloured. */
export function status(value: string): string {
  switch (value) {
    case 'success':
      return pc.green(value);
    case 'failure':
    case 'error':
      return pc.red(value);
    case 'cancelled':
    case 'skipped':
      return pc.yellow(value);
    case 'running':
      return pc.cyan(value);
    default:
      return pc.dim(value); // queued, pending
  }
}

/** A one-character mark for a step or build status (live step list). */
export function mark(value: string): string {
  switch (value) {
    case 'success':
      return pc.green('✓');
    case 'failure':
    case 'error':
      return pc.red('✗');
    case 'cancelled':
    case 'skipped':
      return pc.yellow('-');
    case 'running':
      return pc.cyan('▶');
    default:
      return pc.dim('·');
  }
}

/** 850 ms, 12.3 s, 4m05s, 2h03m. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How long ago `at` (ms since the epoch) was, coarsely: "5 s ago", "3m ago", "2 d ago". */
export function ago(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return '';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** The length of a string as the terminal shows it (without ANSI colour codes). */
export function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Rows as aligned columns (two spaces apart), with a dim header row. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [pc.dim(line(header)), ...rows.map(line)].join('\n');
}

export { pc };
