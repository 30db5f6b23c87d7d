/** `/workers`: every live worker (its presence node): kind, labels, state, what it runs, since when. */
import type { WorkerPresence } from '@distci/common';
import { timeTag } from '../format.js';
import { type Html, html } from '../html.js';

export function workersBody(workers: WorkerPresence[]): Html {
  const sorted = [...workers].sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1));
  return html`<h1>Workers</h1>
<p class="hint">Live workers only: a worker appears while its session holds its presence node.</p>
${
  sorted.length === 0
    ? html`<p class="empty">No live workers.</p>`
    : html`<table class="workers"><thead><tr><th scope="col">Worker</th><th scope="col">Kind</th><th scope="col">Labels</th><th scope="col">State</th><th scope="col">Running</th><th scope="col">Host</th><th scope="col">Started</th></tr></thead><tbody>
${sorted.map(
  (w) =>
    html`<tr data-worker="${w.id}"><td class="mono">${w.id}</td><td>${w.kind}</td><td>${w.labels.length ? w.labels.map((l) => html`<span class="label">${l}</span> `) : '–'}</td><td>${w.state}</td><td>${w.running.length}/${w.capacity}${w.running.map((r) => html`<div class="mono small">${r.ticket} (attempt ${r.attempt}) since ${timeTag(r.since)}</div>`)}</td><td class="mono">${w.host} pid ${w.pid}</td><td>${timeTag(w.startedAt)}</td></tr>`,
)}
</tbody></table>`
}`;
}
