/**
 * `/jobs/:job/builds/:n`: the header (status, trigger, ref/commit, queued for, duration), cancel and
 * retry (plain forms: they work without JS; with JS the client sends them to the API with the token
 * kept in localStorage), the step graph, a waterfall, the steps with failures first and why each
 * waiting one waits, artifacts, params.
 */
import type { BuildView } from '@distci/common';
import type { ArtifactEntry } from '../../artifact-list.js';
import { renderDag } from '../dag.js';
import { failuresFirst, type PageStep } from '../data.js';
import { elapsed, formatDuration, seg, shortCommit, statusBadge, timeTag, triggerText, urls } from '../format.js';
import { type Html, html } from '../html.js';
import { facts, section } from './parts.js';

export interface BuildPageData {
  build: BuildView;
  steps: PageStep[];
  graph: boolean;
  artifacts: ArtifactEntry[];
  now: number;
  /** A message to show once (the result of a form post). */
  notice?: string | null;
}

function tokenField(): Html {
  return html`<label class="token-field">Token <input type="password" name="token" autocomplete="current-password" required></label>`;
}

export function cancelForm(b: BuildView): Html {
  return html`<form class="action" method="post" action="${urls.build(b.job, b.number)}/cancel" data-api="${urls.api(`/jobs/${seg(b.job)}/builds/${b.number}/cancel`)}">
${tokenField()}<button type="submit" class="danger">Cancel build</button></form>`;
}

export function retryForm(b: BuildView, step: string): Html {
  return html`<form class="action" method="post" action="${urls.step(b.job, b.number, step)}/retry" data-api="${urls.api(`/jobs/${seg(b.job)}/builds/${b.number}/steps/${seg(step)}/retry`)}">
${tokenField()}<button type="submit">Retry ${step}</button></form>`;
}

/** Retry every step that did not succeed, in one new build (the API takes `{"failed": true}`). */
export function retryFailedForm(b: BuildView): Html {
  return html`<form class="action" method="post" action="${urls.build(b.job, b.number)}/retry" data-api="${urls.api(`/jobs/${seg(b.job)}/builds/${b.number}/retry`)}" data-body='{"failed":true}'>
${tokenField()}<button type="submit">Retry failed steps</button></form>`;
}

const W = 640;
const ROW = 18;

/** Bars per step: waiting (queued → started) then running (started → finished, or now). SVG attributes, no inline style (CSP). */
function waterfall(b: BuildView, steps: PageStep[], now: number): Html {
  const shown = steps.filter((s) => s.status !== 'pending' && s.status !== 'skipped');
  if (shown.length === 0) return html`<p class="empty">No step has been queued yet.</p>`;
  const start = Math.min(b.createdAt, ...shown.map((s) => s.queuedAt));
  const end = Math.max(b.finishedAt ?? now, ...shown.map((s) => s.finishedAt ?? now));
  const span = Math.max(1, end - start);
  const px = (t: number) => Math.round(((t - start) / span) * (W - 200)) + 190;
  return html`<svg class="waterfall" viewBox="0 0 ${W} ${shown.length * ROW + 4}" width="${W}" height="${shown.length * ROW + 4}" role="img" aria-label="waterfall: waiting and running time per step">
${shown.map((s, i) => {
  const y = i * ROW + 2;
  const started = s.startedAt ?? (s.status === 'queued' ? now : (s.finishedAt ?? now));
  const finished = s.finishedAt ?? now;
  return html`<g><text x="0" y="${y + 13}">${s.id.length > 26 ? `${s.id.slice(0, 25)}…` : s.id}</text><rect class="wait" x="${px(s.queuedAt)}" y="${y + 3}" width="${Math.max(1, px(started) - px(s.queuedAt))}" height="${ROW - 6}"><title>waited ${formatDuration(started - s.queuedAt)}</title></rect>${s.startedAt !== null ? html`<rect class="run s-${s.status}" x="${px(s.startedAt)}" y="${y + 3}" width="${Math.max(2, px(finished) - px(s.startedAt))}" height="${ROW - 6}"><title>ran ${formatDuration(finished - s.startedAt)}</title></rect>` : ''}</g>`;
})}
</svg>`;
}

function stepRow(b: BuildView, s: PageStep, now: number): Html {
  const retryable = !b.live && s.status === 'failure';
  return html`<tr id="step-${s.id}" data-step="${s.id}" data-status="${s.status}">
<td>${statusBadge(s.status)}</td>
<td><a href="${urls.step(b.job, b.number, s.id)}">${s.id}</a>${s.copiedFrom ? html` <span class="hint">(copied from <a href="${urls.build(b.job, s.copiedFrom)}">#${s.copiedFrom}</a>)</span>` : ''}</td>
<td>${s.type}${s.labels.length ? html` ${s.labels.map((l) => html`<span class="label">${l}</span> `)}` : ''}</td>
<td>${formatDuration(elapsed(s.startedAt, s.finishedAt, now))}</td>
<td class="why">${s.waitReason ? html`<span class="waiting">waiting: ${s.waitReason}</span>` : ''}${s.message ? html`<span class="message">${s.message}</span>` : ''}${s.exitCode !== null && s.exitCode !== 0 ? html` <span class="hint">exit ${s.exitCode}</span>` : ''}${s.reason && s.reason !== 'exit-code' ? html` <span class="hint">${s.reason}</span>` : ''}</td>
<td>${s.worker ? html`<span class="mono">${s.worker}</span>` : '–'}</td>
<td>${retryable ? retryForm(b, s.id) : ''}</td>
</tr>`;
}

function artifactUrl(b: BuildView, path: string): string {
  return urls.api(
    `/jobs/${seg(b.job)}/builds/${b.number}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`,
  );
}

export function buildBody({ build: b, steps, graph, artifacts, now, notice }: BuildPageData): Html {
  const failed = steps.filter((s) => s.status === 'failure');
  const queuedFor = (b.startedAt ?? (b.live ? now : (b.finishedAt ?? now))) - b.createdAt;
  return html`<nav class="crumbs" aria-label="breadcrumb"><a href="${urls.job(b.job)}">${b.job}</a> › #${b.number}</nav>
<h1>${statusBadge(b.status)} ${b.job} #${b.number}</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${facts([
  ['Trigger', triggerText(b.trigger)],
  ['Ref', html`<span class="mono">${b.ref ?? '–'}</span>`],
  ['Commit', html`<span class="mono" title="${b.commit ?? ''}">${shortCommit(b.commit)}</span>`],
  ['Created', timeTag(b.createdAt)],
  ['Queued for', formatDuration(queuedFor)],
  ['Duration', html`<span data-duration>${formatDuration(elapsed(b.startedAt, b.finishedAt, now))}</span>`],
  [
    'Steps',
    `${steps.filter((s) => s.status === 'success').length}/${steps.length} passed${failed.length ? `, ${failed.length} failed` : ''}`,
  ],
])}
${b.cancel ? html`<p class="warn">Cancel requested${b.cancel.by ? ` by ${b.cancel.by}` : ''} (${b.cancel.message ?? b.cancel.reason}).</p>` : ''}
${b.waiting ? html`<p class="waiting" data-build-waiting>${b.waiting}</p>` : ''}
<div class="actions">${b.live && !b.cancel ? cancelForm(b) : ''}${!b.live && steps.some((s) => s.status !== 'success') ? retryFailedForm(b) : ''}</div>
${graph ? section('Graph', html`<div class="scroll">${renderDag(b.job, b.number, steps)}</div>`) : ''}
${section(
  'Steps',
  html`<table class="steps"><thead><tr><th scope="col">Status</th><th scope="col">Step</th><th scope="col">Type</th><th scope="col">Duration</th><th scope="col">Why / result</th><th scope="col">Worker</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody>${failuresFirst(steps).map((s) => stepRow(b, s, now))}</tbody></table>`,
)}
${section('Waterfall', html`<div class="scroll">${waterfall(b, steps, now)}</div>`)}
${section(
  'Artifacts',
  artifacts.length === 0
    ? html`<p class="empty">No artifacts.</p>`
    : html`<table><thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col">Step</th><th scope="col">sha256</th></tr></thead><tbody>
${artifacts.map((a) => html`<tr><td><a href="${artifactUrl(b, a.path)}" download>${a.path}</a></td><td>${a.size.toLocaleString('en')} B</td><td>${a.step}</td><td class="mono">${a.sha256.slice(0, 16)}…</td></tr>`)}
</tbody></table>`,
)}
${Object.keys(b.params).length ? section('Params', facts(Object.entries(b.params).map(([k, v]) => [k, html`<span class="mono">${v}</span>`]))) : ''}`;
}
