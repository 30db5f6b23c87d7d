/** The bench's output: machine and versions, then `results/<name>.json` and a markdown table `results/<name>.md`. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@distci/testkit';
import type { ArtifactsResult } from '../sections/artifacts.js';
import type { FrontendResult } from '../sections/frontend.js';
import type { LatencyResult } from '../sections/latency.js';
import type { LogsResult } from '../sections/logs.js';
import type { SandboxResult } from '../sections/sandbox.js';
import type { ThroughputResult } from '../sections/throughput.js';
import type { CeilingResult } from '../sections/zk-ceiling.js';
import type { BenchServices } from './services.js';
import { round } from './stats.js';

export interface MachineInfo {
  date: string;
  mode: 'quick' | 'full';
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  zookeeper: string;
  ceph: string;
  distciCommit: string;
}

export async function machineInfo(services: BenchServices, quick: boolean): Promise<MachineInfo> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'packages'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    if (dirty) commit += ' (+ uncommitted changes in packages/)';
  } catch {}
  return {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
    zookeeper: services.versions.zookeeper,
    ceph: services.versions.ceph,
    distciCommit: commit,
  };
}

interface Results {
  zookeeper?: CeilingResult;
  latency?: LatencyResult;
  throughput?: ThroughputResult;
  logs?: LogsResult;
  artifacts?: ArtifactsResult;
  frontend?: FrontendResult;
  sandbox?: SandboxResult;
}

/** The design's model: 2 write transactions per ticket, 1 per trigger; a build of k steps has 1 + 2k tickets. */
export const modelWrites = (steps: number) => 1 + 2 * (1 + 2 * steps);

function table(m: MachineInfo, r: Results, seconds: number): string {
  const rows: string[][] = [];
  const row = (...cells: Array<string | number | null | undefined>) =>
    rows.push(cells.map((c) => (c === null || c === undefined ? '—' : String(c))));
  const ms = (x: number) => `${x} ms`;
  if (r.zookeeper) {
    const z = r.zookeeper;
    row(
      '1. ZooKeeper ceiling (claim + completion multis)',
      `${z.txnPerSecond} multis/s = ${z.ticketsPerSecond} tickets/s; multi p50 ${ms(z.p50Ms)}, p99 ${ms(z.p99Ms)}`,
      `${z.processes} processes × ${z.concurrencyPerProcess} in flight`,
      null,
    );
  }
  if (r.latency) {
    const l = r.latency;
    for (const [name, j, bare, ratio] of [
      ['noop', l.noop, l.bare.noopMs, l.ratio.noop],
      ['checkout (cached) + true', l.checkout, l.bare.checkoutMs, l.ratio.checkout],
    ] as const) {
      row(
        `2. trigger → first log byte stored, ${name}`,
        `p50 ${ms(j.firstByteMs.p50)}, p99 ${ms(j.firstByteMs.p99)} (${j.runs} runs)`,
        null,
        null,
      );
      row(
        `2. trigger → build finished, ${name}`,
        `p50 ${ms(j.finishedMs.p50)}, p99 ${ms(j.finishedMs.p99)}; parts p50: started ${j.parts.toStarted}, run ${j.parts.run}, archived ${j.parts.toArchived} ms`,
        `by hand: ${ms(bare)}`,
        `${ratio}×`,
      );
    }
  }
  if (r.throughput) {
    for (const p of [r.throughput.noop, r.throughput.chain3]) {
      row(
        `3. throughput, ${p.builds} × ${p.job.replace('bench-', '')} at once`,
        `${p.buildsPerSecond} builds/s (${p.stepsPerSecond} steps/s), ${p.seconds} s; build p50 ${ms(p.buildMs.p50)}, p99 ${ms(p.buildMs.p99)}; ${p.failedBuilds} failed`,
        p.ceilingBuildsPerSecond === null ? null : `ZooKeeper ceiling ÷ writes: ${p.ceilingBuildsPerSecond} builds/s`,
        p.ceilingRatio === null ? null : `${p.ceilingRatio}`,
      );
    }
    for (const [steps, p] of [
      [1, r.throughput.noop],
      [3, r.throughput.chain3],
    ] as const) {
      const c = p.writes.byClass;
      row(
        `4. ZooKeeper writes per build, ${p.job.replace('bench-', '')}`,
        `${p.writes.perBuild} (all, zxid delta); work ${p.writes.workPerBuild ?? '—'}, per step ${p.writes.perStep ?? '—'}` +
          (c
            ? `; per build: trigger ${round(c.trigger / p.builds)}, claim ${round(c.claim / p.builds)}, completion ${round(c.completion / p.builds)}, release ${round(c.release / p.builds)}, failed ${round(c.failed / p.builds)}, other ${round(c.other / p.builds)}, presence ${round(c.presence / p.builds)}`
            : ''),
        `model (1 + 2 per ticket): ${modelWrites(steps)}`,
        p.writes.workPerBuild === null ? null : `${round(p.writes.workPerBuild / modelWrites(steps))}×`,
      );
    }
  }
  if (r.logs) {
    const v = r.logs.volume;
    row(
      '5. log line → `?follow=1` client',
      `p50 ${ms(r.logs.lineLatencyMs.p50)}, p99 ${ms(r.logs.lineLatencyMs.p99)} (${r.logs.lineLatencyMs.n} lines)`,
      'chunk period 1000 ms + poll ≤ 500 ms',
      null,
    );
    row(
      `5. step printing ${v.bytes / 1e6} MB`,
      `lost: ${v.lostStored} B stored, ${v.lostFollowed} B followed (content identical: ${v.contentIdentical}); script ${v.scriptSeconds} s, step ${v.stepSeconds} s, ${v.chunks} chunks`,
      `bare: ${v.bareSeconds} s`,
      `${v.ratio}×`,
    );
    const w = r.logs.viewer;
    if (w) {
      row(
        `5. viewer opens the ${round(w.logBytes / 1e6)} MB log (${w.lines} lines)`,
        `first lines ${ms(w.firstLinesMs)}, ${w.firstLinesBytes} B; last page ${ms(w.lastPageMs)}; search ${ms(w.searchMs)} (${w.searchTotal}); 64 KiB range ${ms(w.rangeMs)}`,
        `raw download ${ms(w.rawMs)}, ${w.rawBytes} B`,
        `${round(w.rawMs / w.firstLinesMs)}× faster`,
      );
    }
  }
  if (r.artifacts) {
    for (const [name, a] of [
      ['1 ×', r.artifacts.big],
      [`${r.artifacts.small.files} ×`, r.artifacts.small],
    ] as const) {
      row(
        `6. publish ${name} ${round(a.bytes / a.files / 1e6)} MB`,
        `${a.publishSeconds} s (producing step ${a.produceSeconds} s, workspace ${a.workspaceBytes === null ? '—' : round(a.workspaceBytes / 1e6)} MB)`,
        `raw S3 PUTs: ${a.rawPutSeconds} s`,
        `${a.ratio}×`,
      );
    }
  }
  if (r.frontend) {
    const f = r.frontend;
    row(
      `7. GET build record (${f.responseBytes} B), ${f.connections} connections`,
      `${f.frontend.requestsPerSecond} req/s, p99 ${ms(f.frontend.p99Ms)}, ${f.frontend.errors} errors`,
      `bare fastify: ${f.bare.requestsPerSecond} req/s, p99 ${ms(f.bare.p99Ms)}`,
      `${f.ratio}`,
    );
  }
  if (r.sandbox) {
    const b = r.sandbox;
    row(
      '8. noop exec-shell step in its bubblewrap sandbox',
      b.bwrapMs
        ? `p50 ${ms(b.bwrapMs.p50)}, p99 ${ms(b.bwrapMs.p99)} (${b.runs} runs); +${b.overheadMs} ms a step`
        : `not measured: ${b.skipped}`,
      b.noneMs ? `--isolation none: p50 ${ms(b.noneMs.p50)}, p99 ${ms(b.noneMs.p99)}` : null,
      b.ratio === null ? null : `${b.ratio}×`,
    );
  }
  const header = [
    `# distci bench (${m.mode})`,
    '',
    `${m.date} · ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB · node ${m.node} · ZooKeeper ${m.zookeeper} · Ceph ${m.ceph} · distci ${m.distciCommit} · ${Math.round(seconds)} s`,
    '',
    'How to read each figure: `bench/README.md`.',
    '',
    '| figure | measured | baseline (same run) | ratio |',
    '|---|---|---|---|',
  ];
  return `${[...header, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')}\n`;
}

export function writeResults(
  dir: string,
  name: string,
  machine: MachineInfo,
  results: Record<string, unknown>,
  seconds: number,
): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  writeFileSync(json, `${JSON.stringify({ machine, seconds: round(seconds), results }, null, 2)}\n`);
  writeFileSync(md, table(machine, results as Results, seconds));
  return [json, md];
}
