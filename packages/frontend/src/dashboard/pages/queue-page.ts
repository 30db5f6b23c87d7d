/** `/queue`: per worker kind and label set, what waits, for how long, and why (the queue view). */
import type { QueueView } from '@distci/common';
import { formatDuration } from '../format.js';
import { type Html, html } from '../html.js';

export function queueBody(queue: QueueView): Html {
  return html`<h1>Queue</h1>
${
  queue.queues.length === 0
    ? html`<p class="empty">Nothing waits.</p>`
    : html`<table class="queue"><thead><tr><th scope="col">Kind</th><th scope="col">Labels</th><th scope="col">Waiting</th><th scope="col">Running</th><th scope="col">Oldest wait</th><th scope="col">Able workers</th><th scope="col">Free slots</th><th scope="col">Why</th></tr></thead><tbody>
${queue.queues.map(
  (q) =>
    html`<tr class="${q.waiting && !q.servable ? 'stuck' : ''}"><td>${q.kind}</td><td>${q.labels.length ? q.labels.map((l) => html`<span class="label">${l}</span> `) : '–'}</td><td>${q.waiting}</td><td>${q.claimed}</td><td>${formatDuration(q.oldestWaitMs)}</td><td>${q.workers}</td><td>${q.freeSlots}</td><td class="why">${q.reason ?? ''}</td></tr>`,
)}
</tbody></table>`
}`;
}
