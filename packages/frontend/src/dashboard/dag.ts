/**
 * The build's step graph as server-rendered SVG (no script needed, nothing from the data is markup).
 * Layout (DASHBOARD.md §4): matrix legs folded into one node per step name, columns by longest-path
 * depth, nodes in a column ordered by the barycentre of their parents (one pass: enough for the few
 * dozen nodes a job has), edges as cubic curves from a node's right side to its dependent's left side.
 */
import type { PageStep } from './data.js';
import { statusIcon, urls } from './format.js';
import { type Html, html } from './html.js';

export interface DagNode {
  name: string;
  steps: PageStep[];
  status: string;
  needs: string[];
  column: number;
  row: number;
}

const NODE_W = 168;
const NODE_H = 40;
const COL_GAP = 56;
const ROW_GAP = 14;
const PAD = 8;

/** The status of a folded node: the one that matters most among its legs. */
function foldStatus(statuses: string[]): string {
  for (const s of ['failure', 'cancelled', 'running', 'queued', 'pending', 'success', 'skipped']) {
    if (statuses.includes(s)) return s;
  }
  return statuses[0] ?? 'pending';
}

export function layoutDag(steps: PageStep[]): { nodes: DagNode[]; edges: Array<[DagNode, DagNode]> } {
  const byName = new Map<string, PageStep[]>();
  for (const s of steps) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const nameOf = new Map(steps.map((s) => [s.id, s.name]));
  const nodes = new Map<string, DagNode>();
  for (const [name, legs] of byName) {
    const needs = [...new Set(legs.flatMap((l) => l.needs.map((n) => nameOf.get(n) ?? n)))].filter(
      (n) => n !== name && byName.has(n),
    );
    nodes.set(name, { name, steps: legs, status: foldStatus(legs.map((l) => l.status)), needs, column: -1, row: 0 });
  }
  const depth = (n: DagNode, seen: Set<string>): number => {
    if (n.column >= 0) return n.column;
    if (seen.has(n.name)) return 0; // a cycle cannot pass validation; never loop on bad data
    seen.add(n.name);
    n.column = n.needs.length ? 1 + Math.max(...n.needs.map((p) => depth(nodes.get(p)!, seen))) : 0;
    return n.column;
  };
  for (const n of nodes.values()) depth(n, new Set());
  const columns: DagNode[][] = [];
  for (const n of nodes.values()) {
    columns[n.column] = [...(columns[n.column] ?? []), n];
  }
  for (const col of columns) {
    if (!col) continue;
    const bary = (n: DagNode) =>
      n.needs.length ? n.needs.reduce((sum, p) => sum + nodes.get(p)!.row, 0) / n.needs.length : n.row;
    col.sort((a, b) => bary(a) - bary(b));
    col.forEach((n, i) => {
      n.row = i;
    });
  }
  const edges: Array<[DagNode, DagNode]> = [];
  for (const n of nodes.values()) for (const p of n.needs) edges.push([nodes.get(p)!, n]);
  return { nodes: [...nodes.values()], edges };
}

const x = (n: DagNode) => PAD + n.column * (NODE_W + COL_GAP);
const y = (n: DagNode) => PAD + n.row * (NODE_H + ROW_GAP);

function label(n: DagNode): string {
  const text = n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name;
  if (n.steps.length === 1) return text;
  const done = n.steps.filter((s) => s.status === 'success').length;
  return `${text} ×${n.steps.length} (${done}✓)`;
}

export function renderDag(job: string, number: number, steps: PageStep[]): Html {
  const { nodes, edges } = layoutDag(steps);
  if (nodes.length === 0) return html``;
  const width = PAD * 2 + (Math.max(...nodes.map((n) => n.column)) + 1) * (NODE_W + COL_GAP) - COL_GAP;
  const height = PAD * 2 + (Math.max(...nodes.map((n) => n.row)) + 1) * (NODE_H + ROW_GAP) - ROW_GAP;
  return html`<svg class="dag" role="group" aria-label="step graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" data-nodes="${nodes.length}" data-edges="${edges.length}">
${edges.map(([from, to]) => {
  const x1 = x(from) + NODE_W;
  const y1 = y(from) + NODE_H / 2;
  const x2 = x(to);
  const y2 = y(to) + NODE_H / 2;
  const mid = (x1 + x2) / 2;
  return html`<path class="edge" data-from="${from.name}" data-to="${to.name}" d="M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}"/>`;
})}
${nodes.map((n) => {
  const href = n.steps.length === 1 ? urls.step(job, number, n.steps[0]!.id) : `#step-${n.name}`;
  return html`<a class="node s-${n.status}" href="${href}" data-step="${n.name}" data-status="${n.status}"><title>${n.name}: ${n.status}${n.steps.length > 1 ? ` (${n.steps.length} matrix legs)` : ''}</title><rect x="${x(n)}" y="${y(n)}" width="${NODE_W}" height="${NODE_H}" rx="6"/><text x="${x(n) + 10}" y="${y(n) + NODE_H / 2 + 5}"><tspan class="icon">${statusIcon(n.status)}</tspan> ${label(n)}</text></a>`;
})}
</svg>`;
}
