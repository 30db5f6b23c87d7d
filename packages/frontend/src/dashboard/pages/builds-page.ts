/** `/builds`: builds across every job, filtered by job, status, trigger and ref (a plain GET form: works without JS). */
import type { BuildView } from '@distci/common';
import { type Html, html } from '../html.js';
import { buildsTable } from './parts.js';

export interface BuildFilters {
  job: string;
  status: string;
  trigger: string;
  ref: string;
}

const STATUSES = ['', 'running', 'queued', 'success', 'failure', 'cancelled', 'error'];
const TRIGGERS = ['', 'manual', 'github', 'after', 'retry'];

export function parseFilters(query: Record<string, unknown>): BuildFilters {
  const one = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : '');
  return { job: one(query.job), status: one(query.status), trigger: one(query.trigger), ref: one(query.ref) };
}

export function matches(b: BuildView, f: BuildFilters): boolean {
  if (f.job && b.job !== f.job) return false;
  if (f.status === 'running' ? !b.live : f.status && b.status !== f.status) return false;
  if (f.trigger && b.trigger.type !== f.trigger) return false;
  if (f.ref && !(b.ref ?? '').includes(f.ref)) return false;
  return true;
}

function select(name: string, label: string, values: string[], current: string): Html {
  return html`<label>${label} <select name="${name}">${values.map(
    (v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v || 'any'}</option>`,
  )}</select></label>`;
}

export function buildsBody(builds: BuildView[], jobs: string[], f: BuildFilters, now: number, perJob: number): Html {
  return html`<h1>Builds</h1>
<form class="filters" method="get" action="/builds" role="search">
${select('job', 'Job', ['', ...jobs], f.job)}
${select('status', 'Status', STATUSES, f.status)}
${select('trigger', 'Trigger', TRIGGERS, f.trigger)}
<label>Ref <input name="ref" value="${f.ref}" size="16" placeholder="main"></label>
<button type="submit">Filter</button>
</form>
<p class="hint">${f.job ? `The newest ${perJob} builds of ${f.job}` : `The newest ${perJob} builds of each job`}, newest first; ${builds.length} match.</p>
${buildsTable(builds, now)}`;
}
