/**
 * `npm run bench [-- --quick] [-- --only a,b] [-- --profile <component>] [-- --out <dir>]`: the system
 * benchmark (issue 7). Starts its own ZooKeeper and Ceph RGW (or uses `DISTCI_ZK` / `DISTCI_S3_*`),
 * frontends and workers as separate processes, and measures each figure as a ratio against a baseline
 * taken in the same run (these machines are noisy). Writes `results/<latest|quick>.json` and `.md`.
 * How to read each figure: `bench/README.md`.
 *
 * Sections (`--only`): zookeeper, latency, throughput, logs, artifacts, frontend, sandbox.
 * Every process it starts is stopped by PID at the end, also on failure or Ctrl-C.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@distci/testkit';
import type { BenchContext } from './lib/context.js';
import { stopAllProcesses } from './lib/processes.js';
import { machineInfo, writeResults } from './lib/report.js';
import { startServices } from './lib/services.js';
import { artifacts } from './sections/artifacts.js';
import { frontend } from './sections/frontend.js';
import { latency } from './sections/latency.js';
import { logs } from './sections/logs.js';
import { sandbox } from './sections/sandbox.js';
import { throughput } from './sections/throughput.js';
import { zkCeiling } from './sections/zk-ceiling.js';

const SECTIONS = ['zookeeper', 'latency', 'throughput', 'logs', 'artifacts', 'frontend', 'sandbox'] as const;
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]) {
  const args = { quick: false, only: new Set<Section>(SECTIONS), profile: null as string | null, out: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--only') {
      const names = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of names)
        if (!SECTIONS.includes(n as Section)) throw new Error(`no section '${n}': ${SECTIONS.join(', ')}`);
      args.only = new Set(names as Section[]);
    } else if (a === '--profile') args.profile = argv[++i] ?? null;
    else if (a === '--out') args.out = argv[++i] ?? '';
    else throw new Error(`unknown argument '${a}' (use --quick, --only a,b, --profile <component>, --out <dir>)`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const t0 = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const outDir = args.out || join(repoRoot, 'bench', 'results');
const profileDir = join(outDir, 'profiles');
if (args.profile) mkdirSync(profileDir, { recursive: true });

let stopping = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping every process started`);
  void cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

let services: Awaited<ReturnType<typeof startServices>> | null = null;
async function cleanup() {
  await stopAllProcesses();
  await services?.stop();
}

const results: Record<string, unknown> = {};
let failed: unknown = null;
try {
  services = await startServices(log);
  const ctx: BenchContext = {
    quick: args.quick,
    services,
    log,
    profile: { component: args.profile, dir: profileDir },
  };
  const run = async <T>(name: Section, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!args.only.has(name)) return undefined;
    log(`--- ${name}`);
    const s0 = performance.now();
    const r = await fn();
    results[name] = r;
    log(`--- ${name} done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    return r;
  };
  const ceiling = await run('zookeeper', () => zkCeiling(ctx));
  await run('latency', () => latency(ctx));
  await run('throughput', () => throughput(ctx, ceiling ?? null));
  await run('logs', () => logs(ctx));
  await run('artifacts', () => artifacts(ctx));
  await run('frontend', () => frontend(ctx));
  await run('sandbox', () => sandbox(ctx));
  const machine = await machineInfo(services, args.quick);
  const files = writeResults(
    outDir,
    args.quick ? 'quick' : 'latest',
    machine,
    results,
    (performance.now() - t0) / 1000,
  );
  log(`results: ${files.join(', ')}`);
} catch (err) {
  failed = err;
  console.error(err);
} finally {
  if (!stopping) await cleanup();
}
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
