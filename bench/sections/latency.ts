/**
 * 2. Scheduling latency on an idle system, one build at a time: from the trigger (the API request
 * leaving the bench) to the first byte of the script's output in the object store (log chunk 0 of the
 * step exists: HEAD polled every 5 ms), and to the build's end (its node removed after archiving: a
 * ZooKeeper watch). For `noop` (one `echo x` step) and `checkout` (a cached checkout, then `true`).
 * The archived record's timestamps (same machine, same clock) split the time up: trigger → step started
 * by a worker (control start, posting, claim), the step's run (workspace, script, log, workspace
 * archive), step finished → build node gone (control advance + archive + the bench's watch). (The
 * recorded `queuedAt` of a finished step is its start, so posting and claiming cannot be told apart.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BuildRecord, blobKeys } from '@distci/common';
import { startCluster } from '../lib/cluster.js';
import { type BenchContext, pick } from '../lib/context.js';
import { checkoutJob, makeRepo, noopJob } from '../lib/jobs.js';
import { round, type Summary, summarize } from '../lib/stats.js';

/** 5 ms between HEADs of the first log chunk: the resolution of the first-byte figure. */
const POLL_MS = 5;

export interface LatencyJobResult {
  runs: number;
  firstByteMs: Summary;
  finishedMs: Summary;
  /** Medians of the parts, from the archived records (ms). */
  parts: { toStarted: number; run: number; toArchived: number };
}

export interface LatencyResult {
  noop: LatencyJobResult;
  checkout: LatencyJobResult;
  /** The same work done by hand on this machine, p50 (ms): `sh -e` of `echo x`; a shallow clone + `true`. */
  bare: { noopMs: number; checkoutMs: number };
  /** finished p50 ÷ bare p50. */
  ratio: { noop: number; checkout: number };
}

/** Milliseconds of one run of `sh -c <script>` in `cwd`. */
function timeShell(script: string, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('sh', ['-e', '-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${script}: exit ${code}`)),
    );
  });
}

const median = (xs: number[]) => summarize(xs).p50;

export async function latency(ctx: BenchContext): Promise<LatencyResult> {
  const runs = pick(ctx, 10, 50);
  const repo = makeRepo();
  const cluster = await startCluster({
    services: ctx.services,
    profile: ctx.profile,
    workers: [{ kind: 'control' }, { kind: 'exec-shell' }, { kind: 'git-checkout' }],
  });
  try {
    await cluster.push(noopJob());
    await cluster.push(checkoutJob(repo));
    const measure = async (job: string, step: string, n: number): Promise<LatencyJobResult> => {
      const firstByte: number[] = [];
      const finished: number[] = [];
      const records: Array<{ record: BuildRecord; triggeredAt: number; goneAt: number }> = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const triggeredAt = Date.now();
        const number = await cluster.trigger(job);
        const done = cluster.finished(job, number).then((record) => {
          finished.push(performance.now() - t0);
          return { record, triggeredAt, goneAt: Date.now() };
        });
        let seen = false;
        const key = blobKeys.logChunk(job, number, step, 1, 0);
        const poll = (async () => {
          while (!seen) {
            if ((await cluster.blob.head(key)) !== null) {
              firstByte.push(performance.now() - t0);
              return;
            }
            await sleep(POLL_MS);
          }
        })();
        records.push(await done);
        seen = true;
        await poll;
        await sleep(50); // idle between builds
      }
      const stepOf = (r: { record: BuildRecord }) => r.record.steps.find((s) => s.id === step)!;
      return {
        runs: n,
        firstByteMs: summarize(firstByte),
        finishedMs: summarize(finished),
        parts: {
          toStarted: median(records.map((r) => stepOf(r).startedAt! - r.triggeredAt)),
          run: median(records.map((r) => stepOf(r).finishedAt! - stepOf(r).startedAt!)),
          toArchived: median(records.map((r) => r.goneAt - stepOf(r).finishedAt!)),
        },
      };
    };
    // Warm-up: the processes' first build compiles code paths, fills the config cache and the checkout cache.
    await measure('bench-noop', 'run', 3);
    await measure('bench-checkout', 'run', 2);
    const noop = await measure('bench-noop', 'run', runs);
    ctx.log(
      `noop: first byte p50 ${noop.firstByteMs.p50} ms p99 ${noop.firstByteMs.p99}; finished p50 ${noop.finishedMs.p50} p99 ${noop.finishedMs.p99} (${JSON.stringify(noop.parts)})`,
    );
    const checkout = await measure('bench-checkout', 'run', runs);
    ctx.log(
      `checkout: first byte p50 ${checkout.firstByteMs.p50} ms p99 ${checkout.firstByteMs.p99}; finished p50 ${checkout.finishedMs.p50} p99 ${checkout.finishedMs.p99} (${JSON.stringify(checkout.parts)})`,
    );
    const scratch = mkdtempSync(join(tmpdir(), 'distci-bench-bare-'));
    const bareNoop: number[] = [];
    const bareCheckout: number[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        bareNoop.push(await timeShell('echo x', scratch));
        bareCheckout.push(
          await timeShell(`git clone --quiet --depth 1 file://${repo} c${i} && cd c${i} && true`, scratch),
        );
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const bare = { noopMs: summarize(bareNoop).p50, checkoutMs: summarize(bareCheckout).p50 };
    const ratio = {
      noop: round(noop.finishedMs.p50 / bare.noopMs),
      checkout: round(checkout.finishedMs.p50 / bare.checkoutMs),
    };
    ctx.log(`bare: ${JSON.stringify(bare)}; ratio ${JSON.stringify(ratio)}`);
    return { noop, checkout, bare, ratio };
  } finally {
    await cluster.stop();
    rmSync(repo, { recursive: true, force: true });
  }
}
