/**
 * Throughput and recovery of the embedded coordination store:
 * `node --import=tsx bench/embedded-store.bench.ts [nodes]` (default 100,000 nodes for recovery).
 *
 * - ops/s of create, set and multi (a claim: versioned set + ephemeral create) from one client, each op
 *   awaited before the next (the worst case: no batching), in memory, on a data dir, and with fsync;
 * - recovery time of a data dir holding `nodes` nodes: from the log alone, then from a snapshot;
 * - how long a snapshot blocks the event loop (the synchronous serialization).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinationStore } from '@distci/common';
import { createEmbeddedServer, type EmbeddedServerOptions } from '@distci/store-embedded';

const nodes = Number(process.argv[2] ?? 100_000);
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'distci-bench-'));
  dirs.push(dir);
  return dir;
};

async function rate(label: string, n: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${String(Math.round((n / ms) * 1000)).padStart(8)} ops/s  (${n} ops)`);
}

async function throughput(name: string, options: EmbeddedServerOptions, n: number): Promise<void> {
  const server = createEmbeddedServer(options);
  const store: CoordinationStore = await server.connect();
  await store.create('/q');
  const data = Buffer.from(JSON.stringify({ kind: 'exec-shell', step: 'test', attempt: 0, state: 'queued' }));
  await rate(`${name}: create (persistent-sequential)`, n, () => store.create('/q/t-', data, 'persistent-sequential'));
  await store.create('/x', data);
  await rate(`${name}: set`, n, () => store.set('/x', data));
  const names = await store.children('/q');
  let version = (await store.get('/x')).stat.version;
  await rate(`${name}: multi (set@version + ephemeral create)`, n, async (i) => {
    await store.multi([
      { type: 'set', path: '/x', data, version },
      { type: 'create', path: `/q/${names[i]}-claim`, data, mode: 'ephemeral' },
    ]);
    version++;
  });
  await server.close();
}

async function recovery(): Promise<void> {
  const dir = tempDir();
  // No snapshot while filling: recovery replays `nodes` log lines.
  const server = createEmbeddedServer({ dataDir: dir, snapshotEveryTxns: Number.MAX_SAFE_INTEGER });
  const store = await server.connect();
  const data = Buffer.from(JSON.stringify({ job: 'web', state: 'running', startedAt: Date.now() }));
  for (let p = 0; p < nodes / 1000; p++) {
    await store.create(`/p${p}`);
    for (let i = 0; i < 999; i++) await store.create(`/p${p}/n-`, data, 'persistent-sequential');
  }
  await server.close();

  let t0 = performance.now();
  const fromLog = createEmbeddedServer({ dataDir: dir });
  console.log(
    `recovery of ${fromLog.recovery?.replayedTxns} txns from the log: ${(performance.now() - t0).toFixed(0)} ms`,
  );
  t0 = performance.now();
  const snapshotting = fromLog.snapshot(); // serializes synchronously, then writes asynchronously
  console.log(`snapshot of ${nodes} nodes blocks the event loop for ${(performance.now() - t0).toFixed(0)} ms`);
  await snapshotting;
  console.log(`snapshot durable after ${(performance.now() - t0).toFixed(0)} ms`);
  await fromLog.close();

  t0 = performance.now();
  const fromSnapshot = createEmbeddedServer({ dataDir: dir });
  console.log(
    `recovery of ${fromSnapshot.recovery?.snapshotNodes} nodes from the snapshot: ${(performance.now() - t0).toFixed(0)} ms`,
  );
  await fromSnapshot.close();
}

try {
  await throughput('memory', {}, 50_000);
  await throughput('data dir', { dataDir: tempDir() }, 50_000);
  await throughput('data dir + fsync', { dataDir: tempDir(), fsync: true }, 2_000);
  await recovery();
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
