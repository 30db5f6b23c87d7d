/**
 * 3 and 4. Throughput and write transactions: N builds of `noop`, then M of `chain3`, submitted at once
 * through the API to 1 frontend, run by 4 exec-shell workers and 1 control worker (2 tickets at once
 * each: the concurrency the ceiling was measured at). builds/s = N ÷ (first trigger → last build's
 * node gone). Write transactions are counted by the server (zxid delta over the phase) and, when the
 * bench runs the server, classified from its transaction log (`lib/zk-stats.ts`).
 * Ratio: builds/s ÷ (ceiling multis/s ÷ write transactions per build) — 1.0 would mean ZooKeeper is
 * the limit; far below, something else is.
 */
import { startCluster } from '../lib/cluster.js';
import { type BenchContext, pick } from '../lib/context.js';
import { chain3Job, noopJob } from '../lib/jobs.js';
import { round, type Summary, summarize } from '../lib/stats.js';
import { countByClass, failedBreakdown, lastZxid, readTxnLog, type TxnClass } from '../lib/zk-stats.js';
import type { CeilingResult } from './zk-ceiling.js';

export interface PhaseResult {
  job: string;
  builds: number;
  steps: number;
  seconds: number;
  /** Time until every trigger request was answered. */
  submitSeconds: number;
  buildsPerSecond: number;
  stepsPerSecond: number;
  /** Trigger → build gone, per build (ms). */
  buildMs: Summary;
  failedBuilds: number;
  writes: {
    /** zxid delta ÷ builds: every write transaction the server committed, per build. */
    perBuild: number;
    /** The same without presence heartbeats and session create/close (null: no transaction log). */
    workPerBuild: number | null;
    /** Work writes ÷ steps (the build's own writes spread over its steps). */
    perStep: number | null;
    byClass: Record<TxnClass, number> | null;
    /** Failed write transactions by sender (see `failedBreakdown`). */
    failed: Record<string, number> | null;
  };
  /** builds/s ÷ (ceiling multis/s ÷ writes per build). */
  ceilingRatio: number | null;
  ceilingBuildsPerSecond: number | null;
}

export interface ThroughputResult {
  workers: string;
  noop: PhaseResult;
  chain3: PhaseResult;
}

export async function throughput(ctx: BenchContext, ceiling: CeilingResult | null): Promise<ThroughputResult> {
  const cluster = await startCluster({
    services: ctx.services,
    profile: ctx.profile,
    workers: [
      { kind: 'control', count: 1, concurrency: 2 },
      { kind: 'exec-shell', count: 4, concurrency: 2 },
    ],
  });
  try {
    await cluster.push(noopJob());
    await cluster.push(chain3Job());
    // Warm-up (and the queues' parent nodes): a couple of builds of each, one at a time.
    for (const job of ['bench-noop', 'bench-chain3', 'bench-noop', 'bench-chain3']) {
      await cluster.finished(job, await cluster.trigger(job));
    }
    const phase = async (job: string, builds: number, stepsPerBuild: number): Promise<PhaseResult> => {
      const z0 = await lastZxid(ctx.services.zk);
      const t0 = performance.now();
      let submitted = 0;
      const durations: number[] = [];
      let failedBuilds = 0;
      let submitSeconds = 0;
      await Promise.all(
        Array.from({ length: builds }, async () => {
          const n = await cluster.trigger(job);
          if (++submitted === builds) submitSeconds = (performance.now() - t0) / 1000;
          const record = await cluster.finished(job, n);
          durations.push(performance.now() - t0);
          if (record.status !== 'success') failedBuilds++;
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const z1 = await lastZxid(ctx.services.zk);
      let byClass: Record<TxnClass, number> | null = null;
      let failed: Record<string, number> | null = null;
      if (ctx.services.zkDataDir) {
        const txns = await readTxnLog(ctx.services.zkDataDir, z0, z1);
        byClass = countByClass(txns);
        failed = failedBreakdown(txns);
      }
      const perBuild = (z1 - z0) / builds;
      const work = byClass ? z1 - z0 - byClass.presence - byClass.session : null;
      const ceilingBuildsPerSecond = ceiling ? ceiling.txnPerSecond / perBuild : null;
      const out: PhaseResult = {
        job,
        builds,
        steps: builds * stepsPerBuild,
        seconds: round(seconds),
        submitSeconds: round(submitSeconds),
        buildsPerSecond: round(builds / seconds),
        stepsPerSecond: round((builds * stepsPerBuild) / seconds),
        buildMs: summarize(durations),
        failedBuilds,
        writes: {
          perBuild: round(perBuild),
          workPerBuild: work === null ? null : round(work / builds),
          perStep: work === null ? null : round(work / (builds * stepsPerBuild)),
          byClass,
          failed,
        },
        ceilingRatio: ceilingBuildsPerSecond ? round(builds / seconds / ceilingBuildsPerSecond) : null,
        ceilingBuildsPerSecond: ceilingBuildsPerSecond ? round(ceilingBuildsPerSecond) : null,
      };
      ctx.log(
        `${job}: ${builds} builds in ${out.seconds} s (submitted in ${out.submitSeconds} s): ${out.buildsPerSecond} builds/s, ${out.stepsPerSecond} steps/s; ${out.writes.perBuild} writes/build ${JSON.stringify(byClass)} failed: ${JSON.stringify(failed)}; ceiling ratio ${out.ceilingRatio}`,
      );
      return out;
    };
    const noop = await phase('bench-noop', pick(ctx, 40, 200), 1);
    const chain3 = await phase('bench-chain3', pick(ctx, 20, 100), 3);
    return { workers: '1 control + 4 exec-shell, 2 tickets at once each; 1 frontend', noop, chain3 };
  } finally {
    await cluster.stop();
  }
}
