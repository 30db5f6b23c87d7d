/**
 * Build and step metrics from the archived build records, observed at scrape time.
 *
 * Each frontend keeps, per job, the next build number it has not observed. On a scrape it reads the
 * job's counter node (`lastFinished`; read only, never created) and the records of builds it has not seen yet, in number order;
 * it stops at the first number without a record (that build still runs) and resumes there next time,
 * so every build is observed exactly once per frontend process — from the first scrape on (builds of
 * jobs that existed then and had finished are history, not rate). At most `MAX_RECORDS_PER_SCRAPE` records are read per
 * job per scrape.
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `distci_builds_finished_total` | counter | status | builds ended: success, failure, cancelled, error |
 * | `distci_build_duration_seconds` | histogram | status | trigger to end |
 * | `distci_step_duration_seconds` | histogram | type, status | a step's run on its worker (start to end) |
 * | `distci_claim_latency_seconds` | histogram | type | a step's wait in the queue: posted to started by a worker |
 *
 * Every frontend counts every build: scrape one frontend, or aggregate with `max` across instances.
 */
import type { Distci, JobNode } from '@distci/common';
import type { Registry } from 'prom-client';
import { metricsOn } from './plugins/metrics-on.js';

/** 100: a scrape every 15 s keeps up with 6 finished builds a second per job, and stays cheap. */
export const MAX_RECORDS_PER_SCRAPE = 100;

/** Buckets, in seconds: a build's duration, a step's, and a step's wait in its queue. */
const BUILD_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const STEP_S = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const CLAIM_S = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800];

export interface BuildObserver {
  /** Reads what finished since the last call and updates the metrics. */
  observe(): Promise<void>;
}

export function createBuildObserver({ jobs, builds }: Distci, registry: Registry): BuildObserver {
  const { counter, histogram } = metricsOn(registry);
  const finished = counter('distci_builds_finished_total', 'Builds that ended, by status', ['status']);
  const buildDuration = histogram('distci_build_duration_seconds', 'Trigger to end', ['status'], BUILD_S);
  const stepDuration = histogram('distci_step_duration_seconds', 'Step start to end', ['type', 'status'], STEP_S);
  const claimLatency = histogram('distci_claim_latency_seconds', 'Step posted to started', ['type'], CLAIM_S);
  /** Per job: the next build number not observed yet. */
  const next = new Map<string, number>();
  let firstScrape = true;

  async function observeJob(job: string): Promise<void> {
    let node: JobNode | null;
    try {
      node = await jobs.node(job);
    } catch (err) {
      if (err instanceof SyntaxError) return;
      throw err;
    }
    if (!node) return;
    const last = node.lastFinished ?? 0;
    if (!next.has(job)) {
      // Jobs there at the first scrape: what finished before is history. Jobs seen later are new.
      next.set(job, firstScrape ? last + 1 : 1);
      if (firstScrape) return;
    }
    let n = next.get(job)!;
    for (let read = 0; n <= last && read < MAX_RECORDS_PER_SCRAPE; read++, n++) {
      const record = await builds.record(job, n);
      if (!record) break; // still running (or removed): look again next time
      finished.inc({ status: record.status });
      buildDuration.observe({ status: record.status }, Math.max(0, record.finishedAt - record.createdAt) / 1000);
      for (const step of record.steps) {
        if (step.startedAt === null) continue; // never ran (skipped, cancelled while waiting)
        claimLatency.observe({ type: step.type }, Math.max(0, step.startedAt - step.queuedAt) / 1000);
        if (step.finishedAt !== null) {
          stepDuration.observe(
            { type: step.type, status: step.status },
            Math.max(0, step.finishedAt - step.startedAt) / 1000,
          );
        }
      }
    }
    next.set(job, n);
  }

  return {
    async observe() {
      for (const job of await jobs.withBuilds()) await observeJob(job);
      firstScrape = false;
    },
  };
}
