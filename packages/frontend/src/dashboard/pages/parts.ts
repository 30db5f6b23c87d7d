/** Pieces several pages share: the builds table, key/value lists, empty states. */
import type { BuildView } from '@distci/common';
import { elapsed, formatDuration, shortCommit, statusBadge, timeTag, triggerText, urls } from '../format.js';
import { type Html, type HtmlValue, html } from '../html.js';

export function buildsTable(
  builds: BuildView[],
  now: number,
  options: { showJob?: boolean; caption?: string } = {},
): Html {
  const showJob = options.showJob ?? true;
  if (builds.length === 0) return html`<p class="empty">No builds.</p>`;
  return html`<table class="builds">
${options.caption ? html`<caption>${options.caption}</caption>` : ''}
<thead><tr><th scope="col">Status</th>${showJob ? html`<th scope="col">Job</th>` : ''}<th scope="col">Build</th><th scope="col">Trigger</th><th scope="col">Ref</th><th scope="col">Commit</th><th scope="col">Created</th><th scope="col">Duration</th></tr></thead>
<tbody>
${builds.map(
  (b) => html`<tr data-build="${b.job}/${b.number}" data-status="${b.status}">
<td>${statusBadge(b.status)}</td>
${showJob ? html`<td><a href="${urls.job(b.job)}">${b.job}</a></td>` : ''}
<td><a href="${urls.build(b.job, b.number)}">#${b.number}</a></td>
<td>${triggerText(b.trigger)}</td>
<td class="mono">${b.ref ?? '–'}</td>
<td class="mono">${shortCommit(b.commit)}</td>
<td>${timeTag(b.createdAt)}</td>
<td>${formatDuration(elapsed(b.startedAt ?? b.createdAt, b.finishedAt, now))}</td>
</tr>`,
)}
</tbody>
</table>`;
}

/** A definition list of label → value pairs (values are escaped like everything else). */
export function facts(pairs: Array<[string, HtmlValue]>): Html {
  return html`<dl class="facts">${pairs.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

export function section(title: string, body: Html, id?: string): Html {
  const anchor = id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return html`<section aria-labelledby="h-${anchor}"><h2 id="h-${anchor}">${title}</h2>${body}</section>`;
}
