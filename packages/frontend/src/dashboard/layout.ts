/**
 * The page shell: head (stylesheet, status favicon, the client module), a skip link, the navigation, and
 * `<main>`. Everything in `<main>` is also served alone (a request with `X-Distci-Fragment: main`): the
 * client swaps it in on a live event, so a page is rendered by one function, on the server, whether it
 * is loaded or refreshed live.
 */
import { assetHash } from './assets.js';
import { statusIcon } from './format.js';
import { type Html, html } from './html.js';

export interface PageOptions {
  title: string;
  /** Which nav entry is current. */
  nav?: 'overview' | 'builds' | 'queue' | 'workers' | 'none';
  /** The status the favicon and title prefix show (a build or step page). */
  status?: string;
  /** How the client keeps it live: SSE of these builds (`job/n`), and/or a refresh period. */
  live?: { builds?: string[]; refreshMs?: number };
  body: Html;
}

/** The Content-Security-Policy of every page: only this origin's script and style, no inline anything. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NAV: Array<[NonNullable<PageOptions['nav']>, string, string]> = [
  ['overview', '/', 'Overview'],
  ['builds', '/builds', 'Builds'],
  ['queue', '/queue', 'Queue'],
  ['workers', '/workers', 'Workers'],
];

export function titleText(title: string, status?: string): string {
  return status ? `${statusIcon(status)} ${title} · distci` : `${title} · distci`;
}

/** `<main>` alone, with the attributes the client reads (title, status, live sources). */
export function mainElement(page: PageOptions): Html {
  return html`<main id="main" tabindex="-1" data-title="${titleText(page.title, page.status)}" data-status="${page.status ?? ''}" data-live-builds="${(page.live?.builds ?? []).join(' ')}" data-refresh-ms="${page.live?.refreshMs ?? ''}">
${page.body}
</main>`;
}

export function renderPage(page: PageOptions): Html {
  const hash = assetHash();
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${titleText(page.title, page.status)}</title>
<link rel="icon" type="image/svg+xml" href="/dashboard/assets/favicon-${page.status ?? 'idle'}.svg">
<link rel="stylesheet" href="/dashboard/assets/app.${hash}.css">
<script type="module" src="/dashboard/assets/app.${hash}.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">distci</a>
<nav aria-label="main">${NAV.map(
    ([key, href, text]) => html`<a href="${href}"${key === page.nav ? html` aria-current="page"` : ''}>${text}</a>`,
  )}</nav>
<span class="conn" role="status" aria-live="polite"></span>
<ci-token></ci-token>
</header>
${mainElement(page)}
</body>
</html>`;
}
