/**
 * deploy/grafana/distci.json queries only metrics distci exports: every `distci_*` name in a panel's
 * query is declared by a prom-client `new Counter|Gauge|Histogram({ name: … })` (or `metricsOn`'s
 * `counter|gauge|histogram('name', …)`) in packages/frontend/src
 * or packages/workers/src (a histogram's `_bucket`, `_sum`, `_count` series included), or is one of
 * prom-client's default process metrics under the prefix the frontend registers them with. Counters and
 * histogram buckets are queried through rate() or increase(), never raw.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/cli-process.js';

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'grafana', 'distci.json'), 'utf8'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** name → Counter | Gauge | Histogram, from the sources; and the prefixes of collectDefaultMetrics. */
function declared(): { metrics: Map<string, string>; defaultPrefixes: string[] } {
  const metrics = new Map<string, string>();
  const defaultPrefixes: string[] = [];
  for (const pkg of ['frontend', 'workers']) {
    for (const file of sourceFiles(join(repoRoot, 'packages', pkg, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name: '([a-z0-9_]+)'/g))
        metrics.set(m[2]!, m[1]!);
      // metricsOn(registry)'s constructors: counter('name', …), gauge(…), histogram(…).
      for (const m of text.matchAll(/\b(counter|gauge|histogram)\(\s*'([a-z0-9_]+)'/g))
        metrics.set(m[2]!, m[1]![0]!.toUpperCase() + m[1]!.slice(1));
      for (const m of text.matchAll(/collectDefaultMetrics\(\{[^}]*prefix: '([a-z0-9_]+)'/g))
        defaultPrefixes.push(m[1]!);
    }
  }
  return { metrics, defaultPrefixes };
}

/** prom-client's default metric names (`process_…`, `nodejs_…`), from the installed package. */
function promClientDefaults(): Set<string> {
  const dir = join(repoRoot, 'node_modules', 'prom-client', 'lib', 'metrics');
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/'((?:process|nodejs)_[a-z0-9_]+)'/g))
      names.add(m[1]!);
  }
  return names;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  panels?: Panel[];
  targets?: { expr: string }[];
}

const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, expr: target.expr })));

t.test('every metric the dashboard queries exists in the sources', async (t) => {
  const { metrics, defaultPrefixes } = declared();
  t.ok(metrics.size >= 20, `the sources declare the metrics (${metrics.size} found)`);
  t.same(defaultPrefixes, ['distci_frontend_'], "the frontend's process metrics prefix");
  const defaults = promClientDefaults();
  t.ok(defaults.has('process_resident_memory_bytes'), "prom-client's default metric names are read");

  const exists = (name: string): boolean => {
    if (metrics.has(name)) return true;
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
    if (histogram && metrics.get(histogram[1]!) === 'Histogram') return true;
    return defaultPrefixes.some((p) => name.startsWith(p) && defaults.has(name.slice(p.length)));
  };
  const used = new Set<string>();
  const unknown: string[] = [];
  const raw: string[] = [];
  for (const { panel, expr } of queries) {
    for (const [name] of expr.matchAll(/\bdistci_[a-z0-9_]+/g)) {
      used.add(name);
      if (!exists(name)) unknown.push(`${panel}: ${name}`);
      const counter = metrics.get(name) === 'Counter' || name.endsWith('_bucket') || name.endsWith('_total');
      if (counter && !new RegExp(`(?:rate|increase)\\(\\s*${name}\\b`).test(expr)) raw.push(`${panel}: ${name}`);
    }
  }
  t.same(unknown, [], 'no query names a metric the sources do not export');
  t.same(raw, [], 'counters and buckets are queried through rate() or increase()');
  const sourceOnly = [...metrics.keys()].filter((m) => ![...used].some((u) => u === m || u.startsWith(`${m}_bucket`)));
  t.same(sourceOnly, [], 'and every metric the sources export has a panel');
});

t.test('the dashboard is importable: unique panel ids, a query per panel, the data source as a variable', async (t) => {
  const ids = panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const empty = panels.filter((p) => p.type !== 'row' && !(p.targets ?? []).length).map((p) => p.title);
  t.same(empty, [], 'every panel has a query');
  t.equal(dashboard.uid, 'distci');
  t.ok(
    (dashboard.templating.list as { name: string; type: string }[]).some(
      (v) => v.name === 'datasource' && v.type === 'datasource',
    ),
    'a data source variable',
  );
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, no JavaScript template
  t.ok(JSON.stringify(dashboard.panels).includes('"uid":"${datasource}"'), 'panels use it');
});
