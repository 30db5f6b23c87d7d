/** `/`: running builds, the queue (count and oldest wait), workers by label, recent failures. */
import type { BuildView, QueueView } from '@distci/common';
import { formatDuration } from '../format.js';
import { type Html, html } from '../html.js';
import { buildsTable, section } from './parts.js';

export interface OverviewData {
  builds: BuildView[];
  queue: QueueView;
  now: number;
}

export function overviewBody({ builds, queue, now }: OverviewData): Html {
  const running = builds.filter((b) => b.live);
  const failures = builds.filter((b) => b.status === 'failure' || b.status === 'error').slice(0, 10);
  const waiting = queue.queues.reduce((n, q) => n + q.waiting, 0);
  const oldest = Math.max(0, ...queue.queues.map((q) => q.oldestWaitMs ?? 0));
  const stuck = queue.queues.filter((q) => q.waiting > 0 && !q.servable);
  const groups = new Map<string, { kind: string; labels: string[]; workers: number; busy: number; capacity: number }>();
  for (const w of queue.workers) {
    const key = `${w.kind} ${w.labels.join(',')}`;
    const g = groups.get(key) ?? { kind: w.kind, labels: w.labels, workers: 0, busy: 0, capacity: 0 };
    g.workers++;
    g.busy += w.running.length;
    g.capacity += w.capacity;
    groups.set(key, g);
  }
  return html`<h1>Overview</h1>
<div class="cards">
<a class="card" href="/builds?status=running"><span class="big" data-count="running">${running.length}</span> running</a>
<a class="card" href="/queue"><span class="big" data-count="queued">${waiting}</span> queued${waiting ? html`<span class="sub">oldest waits ${formatDuration(oldest)}</span>` : ''}</a>
<a class="card" href="/workers"><span class="big" data-count="workers">${queue.workers.length}</span> workers</a>
<a class="card${failures.length ? ' bad' : ''}" href="/builds?status=failure"><span class="big" data-count="failures">${failures.length}</span> recent failures</a>
</div>
${stuck.length ? html`<p class="warn" role="note">${stuck.map((q) => html`<span>${q.waiting} waiting: ${q.reason}</span> `)}</p>` : ''}
${section('Running builds', buildsTable(running, now))}
${section(
  'Workers by label',
  groups.size === 0
    ? html`<p class="empty">No live workers.</p>`
    : html`<table><thead><tr><th scope="col">Kind</th><th scope="col">Labels</th><th scope="col">Workers</th><th scope="col">Busy slots</th></tr></thead><tbody>
${[...groups.values()].map(
  (g) =>
    html`<tr><td>${g.kind}</td><td>${g.labels.length ? g.labels.map((l) => html`<span class="label">${l}</span> `) : '–'}</td><td>${g.workers}</td><td><meter min="0" max="${g.capacity}" value="${g.busy}" aria-label="busy slots">${g.busy}/${g.capacity}</meter> ${g.busy}/${g.capacity}</td></tr>`,
)}
</tbody></table>`,
)}
${section('Recent failures', buildsTable(failures, now))}
${section('Recent builds', buildsTable(builds.slice(0, 15), now))}`;
}
