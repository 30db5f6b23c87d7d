/** `/jobs/:job`: history, pass rate, a duration trend, and the config (as text: nothing in it is markup). */
import type { BuildView, StoredJob } from '@distci/common';
import { formatDuration, urls } from '../format.js';
import { type Html, html } from '../html.js';
import { buildsTable, facts, section } from './parts.js';

const BAR_W = 12;
const CHART_H = 80;

function trend(builds: BuildView[]): Html {
  const done = builds.filter((b) => b.finishedAt !== null && b.startedAt !== null).reverse();
  if (done.length === 0) return html`<p class="empty">No finished builds yet.</p>`;
  const max = Math.max(...done.map((b) => b.finishedAt! - b.startedAt!), 1);
  const width = done.length * (BAR_W + 2);
  return html`<svg class="trend" viewBox="0 0 ${width} ${CHART_H}" width="${width}" height="${CHART_H}" role="img" aria-label="build durations, oldest to newest, longest ${formatDuration(max)}">
${done.map((b, i) => {
  const ms = b.finishedAt! - b.startedAt!;
  const h = Math.max(2, Math.round((ms / max) * (CHART_H - 4)));
  return html`<a href="${urls.build(b.job, b.number)}"><rect class="run s-${b.status}" x="${i * (BAR_W + 2)}" y="${CHART_H - h}" width="${BAR_W}" height="${h}"><title>#${b.number} ${b.status} ${formatDuration(ms)}</title></rect></a>`;
})}
</svg>`;
}

export function jobBody(name: string, stored: StoredJob | null, builds: BuildView[], now: number): Html {
  const finished = builds.filter((b) => !b.live);
  const passed = finished.filter((b) => b.status === 'success').length;
  const rate = finished.length ? Math.round((passed / finished.length) * 100) : null;
  const durations = finished.filter((b) => b.startedAt !== null).map((b) => b.finishedAt! - b.startedAt!);
  durations.sort((a, b) => a - b);
  const median = durations.length ? durations[Math.floor(durations.length / 2)]! : null;
  return html`<h1>${name}</h1>
${stored?.config.description ? html`<p class="description">${stored.config.description}</p>` : ''}
${stored ? '' : html`<p class="warn">This job was deleted; its builds remain.</p>`}
${facts([
  ['Pass rate', rate === null ? '–' : `${rate}% of the last ${finished.length} finished`],
  ['Median duration', formatDuration(median)],
  ['Repository', html`<span class="mono">${stored?.config.repository?.url ?? '–'}</span>`],
  ['Steps', stored ? stored.config.steps.length : '–'],
])}
${section('Duration trend', html`<div class="scroll">${trend(builds)}</div>`)}
${section('History', buildsTable(builds, now, { showJob: false }))}
${stored ? section('Config', html`<pre class="config"><code>${JSON.stringify(stored.config, null, 2)}</code></pre>`) : ''}`;
}
