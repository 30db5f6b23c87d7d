/**
 * Throughput of the blob store adapters: `node --import=tsx bench/blob-store.bench.ts [memstore|bluestore]`.
 * Starts its own single-node Ceph RGW (deploy/local/start-ceph-rgw.sh, memstore by default) in a temp dir
 * and stops it at the end; the directory store runs in another temp dir.
 *
 * - start time of Ceph (script + first bucket);
 * - 20 MB PUT from a buffer (one PutObject on S3) and from a stream (multipart on S3), GET (stream read
 *   to the end): median MB/s of 5;
 * - 1 KiB puts and gets, one at a time: ops/s;
 * - 16 concurrent `ifNoneMatch: '*'` puts, then 16 `ifMatch` puts on one ETag, 20 rounds each: winners
 *   per round (must be exactly 1), what the losers got, and the time a round takes;
 * - resident memory of the Ceph daemons after all that.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore } from '@distci/common';
import { readBlob } from '@distci/common/adapter-support';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createS3BlobStore } from '@distci/store-s3';
import { startCephRgw, stopPids } from '@distci/testkit';

const osdStore = process.argv[2] === 'bluestore' ? 'bluestore' : 'memstore';
const MB = 1_000_000;
const SIZE = 20 * MB;
const REPEAT = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toFixed(0).padStart(6);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function throughput(name: string, store: BlobStore): Promise<void> {
  const data = randomBytes(SIZE);
  const mbps = (ms: number) => SIZE / MB / (ms / 1000);
  const put: number[] = [];
  const putStream: number[] = [];
  const get: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    put.push(mbps(await timed(() => store.put(`bench/buf-${i}`, data))));
    const chunks = Array.from({ length: SIZE / 65536 + 1 }, (_, j) => data.subarray(j * 65536, (j + 1) * 65536));
    putStream.push(mbps(await timed(() => store.put(`bench/stream-${i}`, Readable.from(chunks)))));
    get.push(mbps(await timed(() => readBlob(store, `bench/buf-${i}`))));
  }
  console.log(
    `${name.padEnd(22)} 20 MB PUT buffer ${fmt(median(put))} MB/s   PUT stream ${fmt(median(putStream))} MB/s   GET ${fmt(median(get))} MB/s`,
  );

  const small = randomBytes(1024);
  const n = 300;
  const putMs = await timed(async () => {
    for (let i = 0; i < n; i++) await store.put(`small/${i}`, small);
  });
  const getMs = await timed(async () => {
    for (let i = 0; i < n; i++) await readBlob(store, `small/${i}`);
  });
  console.log(`${name.padEnd(22)} 1 KiB put ${fmt((n / putMs) * 1000)} ops/s   get ${fmt((n / getMs) * 1000)} ops/s`);

  const winners: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < 20; round++) {
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => store.put(`race/${round}`, `writer ${i}`, { ifNoneMatch: '*' })),
    );
    rounds.push(performance.now() - t0);
    winners.push(results.filter((r) => r.status === 'fulfilled').length);
  }
  console.log(
    `${name.padEnd(22)} 16-way ifNoneMatch race x20: winners per round ${[...new Set(winners)].join(',')}; median round ${median(rounds).toFixed(1)} ms`,
  );

  const casWinners: number[] = [];
  const casRounds: number[] = [];
  const losers: Record<string, number> = {};
  for (let round = 0; round < 20; round++) {
    const { etag } = await store.put(`cas/${round}`, 'v0');
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => store.put(`cas/${round}`, `writer ${i}`, { ifMatch: etag })),
    );
    casRounds.push(performance.now() - t0);
    casWinners.push(results.filter((r) => r.status === 'fulfilled').length);
    for (const r of results) {
      if (r.status === 'rejected') {
        const code = String((r.reason as { code?: unknown }).code);
        losers[code] = (losers[code] ?? 0) + 1;
      }
    }
  }
  console.log(
    `${name.padEnd(22)} 16-way ifMatch race x20: winners per round ${[...new Set(casWinners)].join(',')}; losers ${JSON.stringify(losers)}; median round ${median(casRounds).toFixed(1)} ms`,
  );
}

/** Resident memory of a process, from /proc (Linux). */
function rssMiB(pid: number): string {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return `${(kb / 1024).toFixed(0)} MiB`;
  } catch {
    return '?';
  }
}

const dir = mkdtempSync(join(tmpdir(), 'distci-bench-'));
const t0 = performance.now();
const ceph = await startCephRgw({ dir: join(dir, 'ceph'), store: osdStore });
console.log(`ceph (${osdStore}) started with bucket in ${(performance.now() - t0).toFixed(0)} ms`);
try {
  const s3 = createS3BlobStore({ ...ceph, prefix: 'bench' });
  await throughput(`s3 (rgw ${osdStore})`, s3);
  await s3.close();
  const [mon, osd, rgw] = ceph.pids.map(rssMiB);
  console.log(`ceph RSS after the run: mon ${mon}, osd ${osd}, rgw ${rgw}`);
  const directory = createDirectoryBlobStore({ dir: join(dir, 'objects'), prefix: '' });
  await throughput(`directory (${tmpdir()})`, directory);
  await directory.close();
} finally {
  await stopPids(ceph.pids);
  rmSync(dir, { recursive: true, force: true });
}
