/**
 * Summarizes a `.cpuprofile` (from `npm run bench -- --profile <component>`): the functions with the
 * most self time, and the most inclusive time by package/file, so a hot path can be found without a
 * browser. Usage: `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [from,to s] [filter]`;
 * it first prints how busy the process was in each second, to choose the window.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, windowArg, filter] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
// `from,to` in seconds since the profile's start: only samples in that window count.
const [from, to] = (windowArg ?? '0,1e9').split(',').map(Number) as [number, number];
{
  let t = 0;
  const keep: number[] = [];
  const keepDeltas: number[] = [];
  const busy = new Map<number, [number, number]>();
  profile.samples.forEach((id, i) => {
    const d = profile.timeDeltas[i] ?? 0;
    t += d;
    const second = Math.floor(t / 1e6);
    const b = busy.get(second) ?? [0, 0];
    b[1] += d;
    if (!/^\((idle|program)\)$/.test(profile.nodes.find((n) => n.id === id)?.callFrame.functionName ?? '')) b[0] += d;
    busy.set(second, b);
    if (t / 1e6 >= from && t / 1e6 < to) {
      keep.push(id);
      keepDeltas.push(d);
    }
  });
  console.log(
    `busy % per second: ${[...busy].map(([s, [b, all]]) => `${s}:${Math.round((100 * b) / all)}`).join(' ')}`,
  );
  profile.samples = keep;
  profile.timeDeltas = keepDeltas;
}
const top = Number(topArg ?? 25);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from the samples and their time deltas.
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'nm:');
  return `${n.callFrame.functionName || '(anonymous)'} ${url.replace(/^.*\/packages\//, 'packages/')}:${n.callFrame.lineNumber + 1}`;
};
const pkg = (n: Node) => {
  const url = n.callFrame.url;
  if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const p = /packages\/([^/]+\/src\/[^:]+)/.exec(url);
  if (p) return p[1]!;
  if (url.startsWith('node:')) return url;
  return url;
};

const selfBy = new Map<string, number>();
for (const [id, us] of selfUs) {
  const key = where(byId.get(id)!);
  selfBy.set(key, (selfBy.get(key) ?? 0) + us);
}
// Inclusive time by package/file: each sample counts once per distinct key on its stack.
const inclBy = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const key = pkg(byId.get(cur)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclBy.set(key, (inclBy.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
});
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
show('self time by function', selfBy);
show('inclusive time by package / source file', inclBy);
