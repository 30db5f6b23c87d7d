/// <reference lib="dom" />
/**
 * Keeps a server-rendered page current: `<main>` names its live sources (`data-live-builds`: SSE
 * streams of those builds; `data-refresh-ms`: a period). On an event the page fetches its own
 * `<main>` again (`X-Distci-Fragment: main`) and swaps it in — the server renders every state, so the
 * client never re-implements a page. `<ci-log>` is kept across swaps (it holds the log). Title and
 * favicon follow `data-title` / `data-status`. A dropped stream shows "reconnecting…" until it is back.
 */
import { enhance } from './enhance.js';

const streams = new Map<string, EventSource>();
let timer = 0;
let inFlight: Promise<void> | null = null;
let again = false;

function conn(text: string): void {
  const el = document.querySelector('.conn');
  if (el) el.textContent = text;
}

function applyHead(main: HTMLElement): void {
  if (main.dataset.title) document.title = main.dataset.title;
  const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (icon) icon.href = `/dashboard/assets/favicon-${main.dataset.status || 'idle'}.svg`;
}

async function refreshOnce(): Promise<void> {
  const res = await fetch(location.href, { headers: { 'x-distci-fragment': 'main' }, cache: 'no-store' });
  if (!res.ok) return;
  const template = document.createElement('template');
  template.innerHTML = await res.text(); // server-rendered and escaped: the same markup a page load gets
  const next = template.content.querySelector<HTMLElement>('main');
  const current = document.getElementById('main');
  if (!next || !current) return;
  const log = current.querySelector('ci-log');
  const slot = next.querySelector('ci-log');
  const focused = document.activeElement?.id;
  if (log && slot) slot.replaceWith(log);
  current.replaceWith(next);
  if (focused) document.getElementById(focused)?.focus();
  applyHead(next);
  enhance(next);
  connect(next);
}

/** One refresh at a time; events during one coalesce into one more. */
export function refresh(): Promise<void> {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = refreshOnce()
    .catch(() => {})
    .finally(() => {
      inFlight = null;
      if (again) {
        again = false;
        void refresh();
      }
    });
  return inFlight;
}

function openStream(build: string): EventSource {
  const [job, n] = build.split('/');
  const es = new EventSource(`/api/v1/jobs/${encodeURIComponent(job!)}/builds/${n}/events`);
  let seen = false;
  es.addEventListener('build', () => {
    // The first event is the view as of connecting: refresh only if the page is older than that.
    if (seen) void refresh();
    seen = true;
    conn('');
  });
  es.addEventListener('end', () => {
    es.close();
    streams.delete(build);
    void refresh();
  });
  es.addEventListener('open', () => conn(''));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CONNECTING) conn('reconnecting…');
  });
  return es;
}

/** Opens the streams `main` names and closes the others; (re)arms the refresh period. */
export function connect(main: HTMLElement): void {
  const wanted = new Set((main.dataset.liveBuilds ?? '').split(' ').filter(Boolean));
  for (const [build, es] of streams) {
    if (!wanted.has(build)) {
      es.close();
      streams.delete(build);
    }
  }
  for (const build of wanted) if (!streams.has(build)) streams.set(build, openStream(build));
  clearInterval(timer);
  const period = Number(main.dataset.refreshMs);
  if (period > 0) timer = window.setInterval(() => void refresh(), period);
}
