/** Small formatting helpers shared by the pages: statuses (always an icon *and* a word), durations, times. */
import { type Html, html } from './html.js';

/** Every status a build or step shows, with its icon (text is always shown beside it: colour is never alone). */
const ICONS: Record<string, string> = {
  queued: '◷',
  pending: '◌',
  running: '▶',
  success: '✓',
  failure: '✗',
  error: '✗',
  cancelled: '⊘',
  skipped: '↷',
};

export function statusIcon(status: string): string {
  return ICONS[status] ?? '•';
}

/** `<span class="status s-failure">✗ failure</span>` */
export function statusBadge(status: string): Html {
  return html`<span class="status s-${status.replace(/[^a-z]/g, '')}"><span aria-hidden="true">${statusIcon(status)}</span> ${status}</span>`;
}

/** 950 → "950ms", 61_000 → "1m 1s", 3_723_000 → "1h 2m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

/** How long something took, or has taken so far (`now` for a running one). */
export function elapsed(from: number | null, to: number | null, now: number): number | null {
  if (from === null) return null;
  return (to ?? now) - from;
}

/**
 * A `<time>` with the absolute UTC time as text (readable without JS, and by screen readers); the client
 * rewrites the text as "3 minutes ago" and keeps the exact time in `title` and on focus.
 */
export function timeTag(ms: number | null | undefined): Html {
  if (ms === null || ms === undefined) return html`–`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}" tabindex="0">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

/** The build's trigger in words: "manual by token:1a2b3c4d", "push (github)", "after web #12", "retry of #3". */
export function triggerText(trigger: { type: string; [k: string]: unknown }): string {
  switch (trigger.type) {
    case 'manual':
      return trigger.by ? `manual by ${String(trigger.by)}` : 'manual';
    case 'github':
      return `github ${String(trigger.event ?? '')}${trigger.sender ? ` by ${String(trigger.sender)}` : ''}`;
    case 'after':
      return `after ${String(trigger.job)} #${String(trigger.build)} (${String(trigger.status)})`;
    case 'retry':
      return `retry of #${String(trigger.of)} (${trigger.failed ? 'failed steps' : String(trigger.step)})`;
    default:
      return trigger.type;
  }
}

export function shortCommit(commit: string | null): string {
  return commit ? commit.slice(0, 12) : '–';
}

/** A path segment, encoded (step ids hold `[`, `=`, `,`). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

export const urls = {
  overview: () => '/',
  builds: (q: Record<string, string> = {}) => {
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== '')).toString();
    return qs ? `/builds?${qs}` : '/builds';
  },
  job: (job: string) => `/jobs/${seg(job)}`,
  build: (job: string, n: number) => `/jobs/${seg(job)}/builds/${n}`,
  step: (job: string, n: number, step: string) => `/jobs/${seg(job)}/builds/${n}/steps/${seg(step)}`,
  queue: () => '/queue',
  workers: () => '/workers',
  api: (path: string) => `/api/v1${path}`,
};
