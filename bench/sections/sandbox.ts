/**
 * 8. The cost of the step sandbox (issue 12): a noop step (`true`) run by the exec-shell kind, in
 * process, with its bubblewrap sandbox and without (`--isolation none`), alternately (these machines
 * are noisy: both see the same moments). Each run is the kind's whole `run`: script file, spawn, the
 * output pump, the end of the process group (or the sandbox), the log's `[distci]` line. The figure
 * is the ratio of the medians; the difference is the sandbox's cost per step in ms. The store is a
 * directory (no network), so the spawn dominates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CoordinationStore, openDistci, parseJob, planBuild, type StepPayload } from '@distci/common';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createExecShellKind } from '../../packages/workers/src/kinds/exec-shell.js';
import { detectSandbox } from '../../packages/workers/src/kinds/sandbox.js';
import { createLogWriter, type StepContext, type StepKind, stepEnv } from '../../packages/workers/src/steps/index.js';
import { type BenchContext, pick } from '../lib/context.js';
import { round, type Summary, summarize } from '../lib/stats.js';

export interface SandboxResult {
  /** Why there is no figure (bubblewrap missing or not working here), else null. */
  skipped: string | null;
  runs: number;
  noneMs: Summary | null;
  bwrapMs: Summary | null;
  /** bwrap p50 ÷ none p50. */
  ratio: number | null;
  /** bwrap p50 − none p50: what the sandbox adds to each step. */
  overheadMs: number | null;
}

export async function sandbox(ctx: BenchContext): Promise<SandboxResult> {
  const runs = pick(ctx, 10, 60);
  const check = await detectSandbox();
  if (!check.ok) {
    ctx.log(`no sandbox figure: ${check.why}`);
    return { skipped: check.why, runs: 0, noneMs: null, bwrapMs: null, ratio: null, overheadMs: null };
  }
  const root = mkdtempSync(join(tmpdir(), 'distci-bench-sandbox-'));
  const blob = createDirectoryBlobStore({ dir: join(root, 'blobs'), prefix: '' });
  // exec-shell reads nothing from the coordination store: the domain object gets an empty stand-in.
  const distci = openDistci({ store: {} as CoordinationStore, blob });
  const job = parseJob({ name: 'bench-sandbox', steps: [{ name: 'noop', type: 'exec-shell', run: 'true' }] });
  const planned = planBuild(job)[0]!;
  const kinds: Record<'none' | 'bwrap', StepKind> = {
    none: createExecShellKind({ sandbox: null }),
    bwrap: createExecShellKind({ sandbox: check.sandbox }),
  };
  const samples: Record<'none' | 'bwrap', number[]> = { none: [], bwrap: [] };
  const once = async (mode: 'none' | 'bwrap', i: number): Promise<number> => {
    const payload: StepPayload = {
      job: job.name,
      build: i + 1,
      step: planned.id,
      index: planned.index,
      config: { key: 'jobs/bench-sandbox/versions/bench.json', etag: 'bench' },
      ref: null,
      commit: null,
      workspaces: [],
      matrix: null,
      deadline: null,
      upstream: null,
    };
    const dir = mkdtempSync(join(root, 'ws-'));
    const log = createLogWriter(distci.logs, {
      job: job.name,
      build: i + 1,
      step: `${mode}-${planned.id}`,
      attempt: 1,
    });
    const step: StepContext = {
      payload,
      job,
      config: job.steps[0]!,
      planned,
      attempt: 1,
      worker: 'bench',
      distci,
      dir,
      env: stepEnv(payload, planned, job),
      log,
      signal: new AbortController().signal,
      timeLeftMs: null,
      stopReason: () => null,
    };
    const t0 = performance.now();
    const result = await kinds[mode].run(step);
    const ms = performance.now() - t0;
    await log.close();
    if (result.status !== 'success') throw new Error(`the ${mode} noop step failed: ${JSON.stringify(result)}`);
    return ms;
  };
  try {
    // One warm-up each (first spawns page in sh, bwrap and their libraries), then alternate.
    await once('none', 0);
    await once('bwrap', 0);
    for (let i = 1; i <= runs; i++) {
      for (const mode of i % 2 ? (['none', 'bwrap'] as const) : (['bwrap', 'none'] as const)) {
        samples[mode].push(await once(mode, i));
      }
    }
  } finally {
    await blob.close();
    rmSync(root, { recursive: true, force: true });
  }
  const noneMs = summarize(samples.none);
  const bwrapMs = summarize(samples.bwrap);
  const result: SandboxResult = {
    skipped: null,
    runs,
    noneMs,
    bwrapMs,
    ratio: round(bwrapMs.p50 / noneMs.p50),
    overheadMs: round(bwrapMs.p50 - noneMs.p50),
  };
  ctx.log(
    `noop step: none p50 ${noneMs.p50} ms, bwrap p50 ${bwrapMs.p50} ms → ${result.ratio}× (+${result.overheadMs} ms a step)`,
  );
  return result;
}
