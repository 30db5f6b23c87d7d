/**
 * `npm run chaos [-- --quick] [-- --seed N] [-- --out DIR]`: the chaos suite (issue 13). Starts a 3-node
 * ZooKeeper ensemble (one network namespace per server), a single-node Ceph RGW, two frontends and
 * several workers of each kind as separate processes; triggers builds of a DAG job (checkout, matrix,
 * artifacts) with a downstream job while faults are injected (chaos/lib/faults.ts); then checks from the
 * stores that no build was lost, stuck or recorded twice, no artifact is missing, and ZooKeeper is back
 * to its baseline size. Exits 1 when a check fails. Results: bench/results/chaos(-quick).{json,md}.
 * Every process it starts is stopped by PID at the end, also on failure or Ctrl-C.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileStorageOptions } from '@distci/common';
import { openStorage, type Storage } from '@distci/storage';
import { repoRoot } from '@distci/testkit';
import { makeRepo } from '../bench/lib/jobs.js';
import { stopAllProcesses } from '../bench/lib/processes.js';
import { machineInfo } from '../bench/lib/report.js';
import { ChaosApi } from './lib/api.js';
import { checkArtifacts, checkJob, describeClaim, FINAL, leftovers, zkNodes } from './lib/checks.js';
import { type Cluster, type Kind, startCluster } from './lib/cluster.js';
import { type Ensemble, startEnsemble } from './lib/ensemble.js';
import { type FaultPlan, prng, runFaults } from './lib/faults.js';
import {
  DOWNSTREAM,
  DOWNSTREAM_STEPS,
  downstreamJob,
  SHARDS,
  UPSTREAM,
  UPSTREAM_STEPS,
  upstreamJob,
} from './lib/jobs.js';
import { type ChaosRgw, startRgw } from './lib/rgw.js';

const FAULTS = ['zk-leader', 'zk-partition', 'rgw-freeze', 'rgw-kill', 'frontend-kill', 'worker-pause'];
const args = {
  quick: false,
  seed: 13,
  out: join(repoRoot, 'bench', 'results'),
  keep: false,
  skip: null as string[] | null,
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '--quick') args.quick = true;
  else if (a === '--seed') args.seed = Number(process.argv[++i]);
  else if (a === '--out') args.out = process.argv[++i] ?? args.out;
  else if (a === '--keep') args.keep = true;
  else if (a === '--skip') {
    args.skip = (process.argv[++i] ?? '').split(',').filter(Boolean);
    for (const f of args.skip) {
      if (!FAULTS.includes(f)) {
        console.error(`no fault '${f}': ${FAULTS.join(', ')}`);
        process.exit(2);
      }
    }
  } else {
    console.error(`unknown argument '${a}' (use --quick, --seed N, --skip a,b, --out DIR, --keep)`);
    process.exit(2);
  }
}

/** 3 s sessions: a lost worker's claim is gone (and its step re-queued) 3-3.5 s after it dies. */
const SESSION_MS = 3000;
const MODE = args.quick
  ? {
      builds: 24,
      triggerEveryMs: 2500,
      // Fewer processes than the full run: 9 node processes take ~30 s to start on 2 busy cores, 12 ~60 s.
      workers: { control: 2, 'git-checkout': 1, 'exec-shell': 2, 'publish-artifacts': 1, 'copy-artifacts': 1 },
      plan: {
        cycles: 1,
        gapMs: 3000,
        rgwFreezeMs: 4000,
        rgwDownMs: 8000,
        pauseMs: 2.5 * SESSION_MS,
        workerKillEveryMs: 7000,
        // Every fault, RGW kill included (it found issue 13's hole 2, and a worker restarted while RGW
        // was down exiting on its start-up bucket check; both fixed).
        skip: new Set<string>(),
      },
      /** Bound on waiting for every build to end once the faults stop. */
      settleMs: 150_000,
    }
  : {
      builds: 300,
      triggerEveryMs: 800,
      workers: { control: 2, 'git-checkout': 2, 'exec-shell': 3, 'publish-artifacts': 2, 'copy-artifacts': 2 },
      plan: {
        cycles: 2,
        gapMs: 8000,
        rgwFreezeMs: 10_000,
        rgwDownMs: 30_000,
        pauseMs: 2.5 * SESSION_MS,
        workerKillEveryMs: 6000,
        skip: new Set<string>(),
      },
      settleMs: 240_000,
    };

if (args.skip) MODE.plan.skip = new Set(args.skip);

const t0 = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);

let ensemble: Ensemble | null = null;
let rgw: ChaosRgw | null = null;
let cluster: Cluster | null = null;
let storage: Storage | null = null;
const dir = mkdtempSync(join(tmpdir(), 'distci-chaos-'));
const logDir = join(dir, 'logs');
mkdirSync(logDir, { recursive: true });
let repo = '';

async function cleanup() {
  await cluster?.stop().catch(() => {});
  await stopAllProcesses().catch(() => {});
  await storage?.close().catch(() => {});
  await rgw?.stop().catch(() => {});
  await ensemble?.stop().catch(() => {});
  if (repo) rmSync(repo, { recursive: true, force: true });
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir} (logs in ${logDir})`);
}
let stopping = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping every process started`);
  void cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
// A stray rejection must not end the run before the cleanup: every process is ours to stop.
process.on('unhandledRejection', (err) => {
  console.error('unhandled rejection:', err);
  if (stopping) return;
  stopping = true;
  void cleanup().finally(() => process.exit(1));
});

/** Polls the API until every build of `job` is final (and there are at least `min`), or the deadline. */
async function settle(api: ChaosApi, job: string, min: number, deadline: number): Promise<boolean> {
  for (;;) {
    try {
      const builds = await api.builds(job);
      if (builds.length >= min && builds.every((b) => FINAL.has(b.status))) return true;
    } catch {}
    if (Date.now() > deadline) return false;
    await sleep(1000);
  }
}

let failed = false;
try {
  log(`chaos ${args.quick ? 'quick' : 'full'}: ${MODE.builds} builds, seed ${args.seed}, sessions ${SESSION_MS} ms`);
  [ensemble, rgw] = await Promise.all([
    startEnsemble(join(dir, 'zk'), log),
    startRgw(join(dir, 'ceph'), 'distci-chaos'),
  ]);
  log(`Ceph RGW ${rgw.s3.endpoint} (pids ${rgw.pids().join(',')})`);
  const token = 'chaos-token-0123456789abcdef';
  const env: Record<string, string> = {
    DISTCI_ZK: `${ensemble.connect}/chaos`,
    DISTCI_SESSION_TIMEOUT_MS: String(SESSION_MS),
    DISTCI_S3_ENDPOINT: rgw.s3.endpoint,
    DISTCI_S3_BUCKET: rgw.s3.bucket,
    DISTCI_S3_REGION: rgw.s3.region,
    AWS_ACCESS_KEY_ID: rgw.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.s3.secretAccessKey,
    DISTCI_TOKENS: token,
    DISTCI_RATE_LIMIT_WRITES: '1000000',
    DISTCI_RATE_LIMIT_NOT_FOUND: '1000000',
    NO_COLOR: '1',
    // The jobs check out a local repository (no network here): allowed only when said so.
    DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true',
  };
  storage = await openStorage(compileStorageOptions({}, env));
  const store = await storage.connect();
  repo = makeRepo();
  cluster = await startCluster({
    env,
    logDir,
    frontends: 2,
    workers: MODE.workers as Record<Kind, number>,
    concurrency: 2,
  });
  const c = cluster;
  log(`${c.frontends.length} frontends, ${c.workers.length} workers up (logs in ${logDir})`);
  const api = new ChaosApi(() => c.liveUrls(), token);
  await api.push(upstreamJob(repo));
  await api.push(downstreamJob());

  // Warm-up: one build of each job, so every queue and parent node exists; then the baseline.
  const warm = await api.trigger(UPSTREAM);
  if (!('number' in warm)) throw new Error(`warm-up trigger: ${warm.error}`);
  if (
    !(await settle(api, UPSTREAM, 1, Date.now() + 120_000)) ||
    !(await settle(api, DOWNSTREAM, 1, Date.now() + 120_000))
  ) {
    throw new Error('the warm-up build did not finish within 120 s (before any fault)');
  }
  const baseline = (await zkNodes(store)).length;
  log(`warm-up done; ZooKeeper baseline: ${baseline} nodes under the chroot`);

  // Chaos: triggers at a steady pace while the faults run.
  let triggering = true;
  const faults = runFaults(
    { cluster: c, ensemble, rgw, random: prng(args.seed), log, done: () => !triggering },
    MODE.plan as FaultPlan,
  );
  const chaosStart = Date.now();
  let confirmed = 0;
  let ambiguous = 0;
  const triggerErrors: string[] = [];
  for (let i = 0; i < MODE.builds; i++) {
    const next = chaosStart + i * MODE.triggerEveryMs;
    if (next > Date.now()) await sleep(next - Date.now());
    // Refused (e.g. storage down): try again, bounded; a trigger that may have landed is not repeated.
    for (let attempt = 0; ; attempt++) {
      const r = await api.trigger(UPSTREAM);
      if ('number' in r) {
        confirmed++;
        break;
      }
      if (r.ambiguous || attempt >= 60) {
        if (r.ambiguous) ambiguous++;
        triggerErrors.push(r.error);
        break;
      }
      await sleep(1000);
    }
  }
  log(`triggered ${confirmed} builds (${ambiguous} ambiguous) in ${((Date.now() - chaosStart) / 1000).toFixed(1)} s`);
  triggering = false;
  await faults.finished;
  const faultsEnd = Date.now();
  log(`faults over (${faults.events.length}); waiting for every build to end (≤ ${MODE.settleMs / 1000} s)`);

  const deadline = Date.now() + MODE.settleMs;
  await settle(api, UPSTREAM, confirmed + 1, deadline);
  // Downstream builds are triggered as upstream ones end: wait until the counts match or the deadline.
  for (;;) {
    const up = await api.builds(UPSTREAM).catch(() => []);
    const successes = up.filter((b) => b.status === 'success').length;
    if (await settle(api, DOWNSTREAM, successes, Math.min(deadline, Date.now() + 1000))) break;
    if (Date.now() > deadline) break;
  }
  const settledMs = Date.now() - faultsEnd;
  log(`settled ${(settledMs / 1000).toFixed(1)} s after the faults; checking the stores`);

  // Checks, from the stores.
  const up = await checkJob(store, storage.blob, UPSTREAM);
  const down = await checkJob(store, storage.blob, DOWNSTREAM);
  const twice: string[] = [];
  const wrong: string[] = [];
  const statuses: Record<string, Record<string, number>> = { [UPSTREAM]: {}, [DOWNSTREAM]: {} };
  const notSuccessful: string[] = [];
  for (const [job, check, steps] of [
    [UPSTREAM, up, UPSTREAM_STEPS],
    [DOWNSTREAM, down, DOWNSTREAM_STEPS],
  ] as const) {
    for (const r of check.records.values()) {
      statuses[job]![r.status] = (statuses[job]![r.status] ?? 0) + 1;
      if (r.status !== 'success') {
        // Not a failed check (every build ended, nothing lost), but the cause is worth reading.
        const failed = r.steps
          .filter((s) => s.status !== 'success')
          .map((s) => `${s.id}: ${s.status} ${s.message ?? ''}`);
        notSuccessful.push(`${job} #${r.number} ${r.status}: ${r.error ?? failed.join('; ')}`);
      }
      const ids = r.steps.map((s) => s.id);
      if (new Set(ids).size !== ids.length || ids.length !== steps) {
        twice.push(`${job} #${r.number}: steps ${ids.join(',')}`);
      }
      for (const s of r.steps) {
        if (s.status !== 'skipped' && s.status !== 'cancelled' && (s.attempt === null || s.attempt < 1)) {
          twice.push(`${job} #${r.number} ${s.id}: status ${s.status} without an attempt`);
        }
        if (s.status === 'failure' && s.reason === 'exit-code') wrong.push(`${job} #${r.number} ${s.id}: ${s.message}`);
      }
    }
  }
  // Downstream: exactly one build per successful upstream build, none for the others.
  const fired = new Map<number, number>();
  for (const r of down.records.values()) {
    if (r.trigger.type === 'after') fired.set(r.trigger.build, (fired.get(r.trigger.build) ?? 0) + 1);
  }
  let downstreamMissing = 0;
  for (const r of up.records.values()) {
    const n = fired.get(r.number) ?? 0;
    if (r.status === 'success' && n === 0) downstreamMissing++;
    if (n > (r.status === 'success' ? 1 : 0))
      twice.push(`${UPSTREAM} #${r.number} (${r.status}) fired ${n} downstream builds`);
  }
  const extraBuilds = Math.max(0, up.builds - 1 - confirmed - ambiguous);
  if (extraBuilds > 0) twice.push(`${extraBuilds} upstream builds more than triggered`);
  const artifactProblems = [];
  for (const r of up.records.values()) {
    if (r.status === 'success')
      artifactProblems.push(...(await checkArtifacts(storage.blob, UPSTREAM, r.number, SHARDS.length)));
  }
  // ZooKeeper: back to the baseline once the killed processes' sessions have expired (bounded).
  let nodes = await zkNodes(store);
  const zkDeadline = Date.now() + 6 * SESSION_MS;
  while (nodes.length !== baseline && Date.now() < zkDeadline) {
    await sleep(500);
    nodes = await zkNodes(store);
  }
  const left = leftovers(nodes);
  // Time to resume a lost step: a step whose committed attempt is > 1 was lost at least once; from the
  // last fault that ended before it started again (a worker kill, a pause, an RGW outage's end) to that start.
  const resumes: number[] = [];
  for (const [, check] of [
    [UPSTREAM, up],
    [DOWNSTREAM, down],
  ] as const) {
    for (const r of check.records.values()) {
      for (const s of r.steps) {
        if ((s.attempt ?? 1) <= 1 || s.startedAt === null) continue;
        const before = faults.events.filter((e) => e.end <= s.startedAt! && (!e.kind || e.kind === kindOf(s.type)));
        const last = before.reduce((m, e) => Math.max(m, e.end), 0);
        if (last > 0) resumes.push(s.startedAt - last);
      }
    }
  }
  resumes.sort((a, b) => a - b);
  const results = {
    buildsTriggered: confirmed,
    triggersAmbiguous: ambiguous,
    triggerErrors: triggerErrors.slice(0, 10),
    upstreamBuilds: up.builds,
    downstreamBuilds: down.builds,
    statuses,
    notSuccessful: notSuccessful.slice(0, 20),
    buildsLost: [...up.lost.map((n) => `${UPSTREAM} #${n}`), ...down.lost.map((n) => `${DOWNSTREAM} #${n}`)],
    buildsStuck: [...up.stuck.map((n) => `${UPSTREAM} #${n}`), ...down.stuck.map((n) => `${DOWNSTREAM} #${n}`)],
    downstreamMissing,
    recordedTwice: twice,
    wrongResults: wrong,
    artifactsMissing: artifactProblems.map((p) => `${UPSTREAM} #${p.build}: ${p.problem}`),
    zk: { baseline, after: nodes.length, leftovers: left.slice(0, 20) },
    lostSteps: resumes.length,
    resumeMs: {
      max: resumes.at(-1) ?? null,
      p50: resumes.length ? resumes[Math.floor(resumes.length / 2)]! : null,
    },
    settledAfterFaultsMs: settledMs,
    partitionMode: ensemble.partitionMode,
    faults: faults.events.map((e) => ({ ...e, at: e.at - chaosStart, end: e.end - chaosStart })),
    skippedFaults: [...MODE.plan.skip],
    faultErrors: faults.errors,
  };
  const checks: Array<[string, number | string, boolean]> = [
    ['faults that could not be injected or undone', faults.errors.length, faults.errors.length === 0],
    ['builds lost', results.buildsLost.length, results.buildsLost.length === 0],
    ['builds stuck', results.buildsStuck.length, results.buildsStuck.length === 0],
    ['downstream builds missing', downstreamMissing, downstreamMissing === 0],
    ['results recorded twice', twice.length, twice.length === 0],
    ['wrong results (exit-code failures)', wrong.length, wrong.length === 0],
    ['artifacts missing', artifactProblems.length, artifactProblems.length === 0],
    [
      'ZooKeeper nodes (baseline → after)',
      `${baseline} → ${nodes.length} (${left.length} tickets/claims/builds left)`,
      nodes.length === baseline && left.length === 0,
    ],
  ];
  failed = checks.some(([, , ok]) => !ok);
  const seconds = (performance.now() - t0) / 1000;
  const machine = await machineInfo(
    { versions: { zookeeper: 'see ensemble', ceph: 'radosgw (Debian)' } } as never,
    args.quick,
  );
  const name = args.quick ? 'chaos-quick' : 'chaos';
  mkdirSync(args.out, { recursive: true });
  writeFileSync(
    join(args.out, `${name}.json`),
    `${JSON.stringify({ machine, seconds, passed: !failed, results }, null, 2)}\n`,
  );
  const md = [
    `# chaos ${args.quick ? 'quick' : 'full'} — ${failed ? 'FAILED' : 'passed'}`,
    '',
    `${machine.date}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, distci ${machine.distciCommit}; ${seconds.toFixed(0)} s in all, seed ${args.seed}.`,
    '',
    `${confirmed} builds of \`${UPSTREAM}\` triggered through the API (${ambiguous} ambiguous), ${up.builds} in ZooKeeper's counter (1 warm-up); ${down.builds} \`${DOWNSTREAM}\` builds.`,
    `Statuses: ${JSON.stringify(statuses)}. Follower partition: ${ensemble.partitionMode === 'netns' ? 'network namespace, link down' : 'SIGSTOP (no network namespaces here)'}. Faults left out: ${results.skippedFaults.join(', ') || 'none'}.`,
    '',
    '| check | value | ok |',
    '|---|---|---|',
    ...checks.map(([what, value, ok]) => `| ${what} | ${value} | ${ok ? 'yes' : '**NO**'} |`),
    `| steps resumed after losing their worker | ${resumes.length} | |`,
    `| time to resume a lost step, max / p50 | ${fmtMs(results.resumeMs.max)} / ${fmtMs(results.resumeMs.p50)} | |`,
    `| every build ended, after the last fault | ${(settledMs / 1000).toFixed(1)} s | |`,
    '',
    '## Faults',
    '',
    '| at (s) | fault | target | lasted (s) |',
    '|---|---|---|---|',
    ...[...results.faults]
      .sort((a, b) => a.at - b.at)
      .map(
        (e) =>
          `| ${(e.at / 1000).toFixed(1)} | ${e.fault} | ${e.target} | ${((e.lastedMs ?? e.end - e.at) / 1000).toFixed(1)} |`,
      ),
    '',
  ].join('\n');
  writeFileSync(join(args.out, `${name}.md`), md);
  console.log(`\n${md}`);
  for (const line of notSuccessful.slice(0, 10)) console.log(`  - ${line}`);
  for (const list of [results.buildsLost, results.buildsStuck, twice, wrong, results.artifactsMissing, left]) {
    for (const line of list.slice(0, 10)) console.log(`  ! ${line}`);
  }
  // A claim left over is held by a live worker: say whose, and what that worker said about it (CI keeps
  // only this output, not the log directory).
  for (const claim of left.filter((p) => p.startsWith('/claims/')).slice(0, 3)) {
    console.log(`\n  claim ${claim}: ${await describeClaim(store, claim, logDir)}`);
  }
  log(`results: ${join(args.out, `${name}.{json,md}`)}`);
} catch (err) {
  failed = true;
  console.error(err);
  args.keep = true;
} finally {
  if (!stopping) await cleanup();
}
log(`${failed ? 'FAILED' : 'passed'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);

function kindOf(stepType: string): string {
  return stepType;
}

function fmtMs(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`;
}
