/**
 * `/jobs/:job/builds/:n/steps/:step`: a step's header and its log. The log is `<ci-log>` (client): it
 * follows `…/logs/:step?follow=1` (every chunk from the first, then live; resumable by chunk id), keeps
 * the lines in memory and renders only the visible ones. Without JS: links to the raw log.
 */
import type { BuildView } from '@distci/common';
import type { PageStep } from '../data.js';
import { elapsed, formatDuration, seg, statusBadge, timeTag, urls } from '../format.js';
import { type Html, html } from '../html.js';
import { retryForm } from './build-page.js';
import { facts } from './parts.js';

export function stepBody(b: BuildView, s: PageStep, now: number): Html {
  const api = urls.api(`/jobs/${seg(b.job)}/builds/${b.number}/logs/${seg(s.id)}`);
  return html`<nav class="crumbs" aria-label="breadcrumb"><a href="${urls.job(b.job)}">${b.job}</a> › <a href="${urls.build(b.job, b.number)}">#${b.number}</a> › ${s.id}</nav>
<h1>${statusBadge(s.status)} ${s.id}</h1>
${facts([
  ['Build', html`<a href="${urls.build(b.job, b.number)}">${b.job} #${b.number}</a> ${statusBadge(b.status)}`],
  ['Type', s.type || '–'],
  ['Worker', html`<span class="mono">${s.worker ?? '–'}</span>`],
  ['Attempt', s.attempt ?? '–'],
  ['Started', timeTag(s.startedAt)],
  ['Duration', formatDuration(elapsed(s.startedAt, s.finishedAt, now))],
  ['Exit code', s.exitCode ?? '–'],
  ...(s.waitReason ? ([['Waiting', html`<span class="waiting">${s.waitReason}</span>`]] as Array<[string, Html]>) : []),
  ...(s.message ? ([['Message', s.message]] as Array<[string, string]>) : []),
])}
<div class="actions">${!b.live && s.status === 'failure' ? retryForm(b, s.id) : ''}
<a class="button" href="${api}">Raw log</a></div>
<ci-log data-src="${api}?follow=1" data-raw="${api}" data-running="${s.finishedAt === null ? '1' : ''}">
<p class="nojs">The log viewer needs JavaScript; <a href="${api}">open the raw log</a> (the complete log, as text).</p>
</ci-log>`;
}
