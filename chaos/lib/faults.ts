/**
 * The faults, injected while builds run: a timeline of one fault at a time (ZooKeeper leader killed,
 * a follower partitioned, RGW frozen then killed, a frontend killed, a worker paused past its session),
 * repeated `cycles` times, and beside it a loop SIGKILLing a random worker and starting it again. Every
 * fault is logged with its start and the moment the system had what it needs again (`end`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Slot } from './cluster.js';
import type { Ensemble } from './ensemble.js';
import type { ChaosRgw } from './rgw.js';

export interface FaultEvent {
  fault: string;
  target: string;
  /** ms since the epoch. */
  at: number;
  /** When it was undone (restarted, healed, resumed); `at` for a kill whose victim others replace. */
  end: number;
  /** The worker kind it hit, for worker faults. */
  kind?: string;
  /** How long the fault itself lasted (a partition, a pause), when `end` is its start. */
  lastedMs?: number;
}

export interface FaultPlan {
  cycles: number;
  /** ms between the timeline's faults. */
  gapMs: number;
  rgwFreezeMs: number;
  rgwDownMs: number;
  /** A paused worker stays paused this long (> the session timeout). */
  pauseMs: number;
  /** A random worker is killed every `workerKillEveryMs` (± half), restarted 0.5-2.5 s later. */
  workerKillEveryMs: number;
  /** The quick mode leaves out faults known to lose builds today (see chaos/README.md). */
  skip: Set<string>;
}

/** A small seeded PRNG (mulberry32): the same seed picks the same victims. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultContext {
  cluster: Cluster;
  ensemble: Ensemble;
  rgw: ChaosRgw;
  random: () => number;
  log: (line: string) => void;
  /** True once the builds are all triggered: the worker killer stops then (the timeline runs to its end). */
  done: () => boolean;
}

export function runFaults(
  ctx: FaultContext,
  plan: FaultPlan,
): { events: FaultEvent[]; errors: string[]; finished: Promise<void> } {
  const events: FaultEvent[] = [];
  /** A fault that could not be injected or undone (e.g. a process slower than its ready timeout). */
  const errors: string[] = [];
  const guarded = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      log(`fault ${what} went wrong: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  const { cluster, ensemble, rgw, random, log } = ctx;
  /** Slots a fault is acting on, so the random killer leaves them alone. */
  const busy = new Set<Slot>();
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  const record = (e: FaultEvent) => {
    events.push(e);
    log(`fault ${e.fault} ${e.target} (${((e.lastedMs ?? e.end - e.at) / 1000).toFixed(1)} s)`);
  };
  let timelineDone = false;
  const killing = () => !timelineDone || !ctx.done();
  const wait = async (ms: number, while_ = () => true) => {
    const until = Date.now() + ms;
    while (Date.now() < until && while_()) await sleep(Math.min(250, until - Date.now()));
  };

  const timeline = async () => {
    for (let cycle = 0; cycle < plan.cycles; cycle++) {
      await wait(plan.gapMs);
      if (!plan.skip.has('zk-leader')) {
        const leader = await ensemble.leader();
        const at = Date.now();
        ensemble.kill(leader);
        await ensemble.leader(); // the others elect a new one
        const end = Date.now();
        await sleep(2000);
        await ensemble.restart(leader);
        record({ fault: 'zk-leader-kill', target: `zk${leader.id}`, at, end });
      }
      await wait(plan.gapMs);
      if (!plan.skip.has('zk-partition')) {
        const follower = await ensemble.follower();
        const at = Date.now();
        ensemble.partition(follower);
        await sleep(plan.pauseMs);
        ensemble.heal(follower);
        await ensemble.waitQuorum();
        record({
          fault: `zk-follower-${ensemble.partitionMode}`,
          target: `zk${follower.id}`,
          at,
          end: at,
          lastedMs: Date.now() - at,
        });
      }
      await wait(plan.gapMs);
      if (!plan.skip.has('rgw-freeze')) {
        const at = Date.now();
        rgw.freeze();
        await sleep(plan.rgwFreezeMs);
        rgw.resume();
        record({ fault: 'rgw-sigstop', target: 'rgw', at, end: Date.now() });
      }
      await wait(plan.gapMs);
      if (!plan.skip.has('rgw-kill')) {
        const at = Date.now();
        rgw.kill();
        await sleep(plan.rgwDownMs);
        await rgw.restart();
        record({ fault: 'rgw-kill', target: 'rgw', at, end: Date.now() });
      }
      await wait(plan.gapMs);
      if (!plan.skip.has('frontend-kill')) {
        const f = pick(cluster.frontends);
        busy.add(f);
        const at = Date.now();
        await cluster.kill(f);
        await sleep(2000);
        await cluster.start(f);
        busy.delete(f);
        record({ fault: 'frontend-kill', target: f.name, at, end: Date.now() });
      }
      await wait(plan.gapMs);
      if (!plan.skip.has('worker-pause')) {
        const w = pick(cluster.workers.filter((s) => s.kind === 'exec-shell' && !busy.has(s)));
        busy.add(w);
        const at = Date.now();
        cluster.pause(w);
        await sleep(plan.pauseMs);
        cluster.resume(w);
        busy.delete(w);
        record({ fault: 'worker-sigstop', target: w.name, kind: w.kind, at, end: at, lastedMs: Date.now() - at });
      }
    }
  };

  const killer = async () => {
    while (killing()) {
      await wait(plan.workerKillEveryMs * (0.5 + random()), killing);
      if (!killing()) break;
      const candidates = cluster.workers.filter((s) => !busy.has(s));
      if (candidates.length === 0) continue;
      const w = pick(candidates);
      busy.add(w);
      const at = Date.now();
      await cluster.kill(w);
      record({ fault: 'worker-kill', target: w.name, kind: w.kind, at, end: at });
      await sleep(500 + 2000 * random());
      await guarded(`restart ${w.name}`, () => cluster.start(w));
      busy.delete(w);
    }
  };

  const finished = Promise.all([
    guarded('timeline', timeline).finally(() => {
      timelineDone = true;
    }),
    guarded('worker killer', killer),
  ]).then(() => undefined);
  return { events, errors, finished };
}
