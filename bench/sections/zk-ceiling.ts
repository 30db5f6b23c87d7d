/**
 * 1. The ZooKeeper ceiling: raw claim and completion multis per second (`fixtures/zk-load.ts`), from as
 * many processes and loops as the throughput section's workers have (4 exec-shell + 1 control, 2
 * tickets at once each), on the same client library, with nothing else running. A build cannot go
 * faster than ceiling ÷ its write transactions; the throughput section reports how close it gets.
 */
import { randomBytes } from 'node:crypto';
import { type BenchContext, pick } from '../lib/context.js';
import { spawnFixture, stopProcesses } from '../lib/processes.js';
import { round } from '../lib/stats.js';
import { lastZxid } from '../lib/zk-stats.js';

/** The throughput section's workers: 5 processes, 2 tickets in flight each. */
export const WORKER_PROCESSES = 5;
export const WORKER_CONCURRENCY = 2;

export interface CeilingResult {
  processes: number;
  concurrencyPerProcess: number;
  seconds: number;
  /** Claim + completion multis per second, all processes together. */
  txnPerSecond: number;
  /** Claim-then-completion pairs per second (one ticket's writes). */
  ticketsPerSecond: number;
  /** Multi latency per process (ms), the worst process's p50 and p99. */
  p50Ms: number;
  p99Ms: number;
  /** The server's own count of transactions in the window (zxid delta): should match. */
  zxidDelta: number;
}

export async function zkCeiling(ctx: BenchContext): Promise<CeilingResult> {
  const durationMs = pick(ctx, 3000, 10_000);
  const chroot = `/bench-load-${randomBytes(4).toString('hex')}`;
  const startAt = Date.now() + 8000; // after every process has connected and set up
  const procs = Array.from({ length: WORKER_PROCESSES }, (_, i) =>
    spawnFixture(
      `zk-load-${i}`,
      'zk-load.ts',
      [`${ctx.services.zk}${chroot}`, String(WORKER_CONCURRENCY), String(durationMs), `p${i}`, String(startAt)],
      {},
    ),
  );
  try {
    await Promise.all(procs.map((p) => p.waitFor(/"type":"ready"/, 30_000)));
    const before = await lastZxid(ctx.services.zk);
    const results = await Promise.all(procs.map((p) => p.waitFor(/^(\{"type":"result".*)$/, 60_000 + durationMs)));
    const after = await lastZxid(ctx.services.zk);
    const parsed = results.map(
      (m) => JSON.parse(m[1]!) as { seconds: number; claims: number; completions: number; p50: number; p99: number },
    );
    const seconds = Math.max(...parsed.map((r) => r.seconds));
    const txns = parsed.reduce((s, r) => s + r.claims + r.completions, 0);
    const tickets = parsed.reduce((s, r) => s + r.completions, 0);
    const out: CeilingResult = {
      processes: WORKER_PROCESSES,
      concurrencyPerProcess: WORKER_CONCURRENCY,
      seconds: round(seconds),
      txnPerSecond: round(txns / seconds),
      ticketsPerSecond: round(tickets / seconds),
      p50Ms: round(Math.max(...parsed.map((r) => r.p50))),
      p99Ms: round(Math.max(...parsed.map((r) => r.p99))),
      // Includes the session closes and nothing else: the load is all that runs.
      zxidDelta: after - before,
    };
    ctx.log(
      `ZooKeeper ceiling: ${out.txnPerSecond} multis/s (${out.ticketsPerSecond} tickets/s), p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms; zxid delta ${out.zxidDelta} for ${txns} multis`,
    );
    return out;
  } finally {
    await stopProcesses(procs);
  }
}
