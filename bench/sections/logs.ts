/**
 * 5. Logs.
 * - Line latency: a step prints its clock (`date +%s%N`) every 100 ms; a `?follow=1` client of the
 *   frontend computes, for each line, arrival time − the time printed in it (same machine, same clock).
 *   Expect about LOG_FLUSH_MS (1 s: the worker's chunk period) + up to the frontend's poll (500 ms).
 * - Volume: a step prints SIZE bytes (`yes … | head -c SIZE`). Bytes lost = SIZE − the script's bytes
 *   in the stored log (must be 0; the content is compared too), and the same through a `?follow=1`
 *   client. Time: the script's wall time under the worker (its `[distci] exit code 0 after X s` line:
 *   with backpressure from the object store) and the step's (plus workspace and log close), against the
 *   same script run bare by the bench with its output piped into this process.
 * - Viewer (issue 11), on that same log (20 MB quick, 200 MB full): what the dashboard's viewer asks
 *   to open it — its first page of lines (`…/lines?from=1&count=512`) — and a far line (the last
 *   page), a search of the whole log (`…/search`), and a byte range, each timed and its bytes counted,
 *   beside a raw download of the whole log (what the viewer did before: every chunk). HTTP only, no
 *   browser (the browser test measures the page itself: first line, DOM nodes, bytes).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobKeys, readBlob } from '@distci/common';
import { decodeChunk } from '@distci/frontend';
import { startCluster } from '../lib/cluster.js';
import { type BenchContext, pick } from '../lib/context.js';
import { readSse } from '../lib/sse.js';
import { round, type Summary, summarize } from '../lib/stats.js';

const LINE = 'distci bench log line: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface LogsResult {
  lineLatencyMs: Summary;
  volume: {
    bytes: number;
    storedScriptBytes: number;
    lostStored: number;
    followedScriptBytes: number;
    lostFollowed: number;
    contentIdentical: boolean;
    chunks: number;
    scriptSeconds: number;
    stepSeconds: number;
    bareSeconds: number;
    /** scriptSeconds ÷ bareSeconds. */
    ratio: number;
  };
  viewer: {
    logBytes: number;
    lines: number;
    /** The viewer's first request: time to the first lines, and bytes transferred. */
    firstLinesMs: number;
    firstLinesBytes: number;
    lastPageMs: number;
    searchMs: number;
    searchTotal: number;
    rangeMs: number;
    rawMs: number;
    rawBytes: number;
  };
}

/** GET `url`: the time to the whole body and its size. */
async function timed(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ms: number; bytes: number; body: Buffer }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${body.toString().slice(0, 200)}`);
  return { ms: round(performance.now() - t0), bytes: body.length, body };
}

/** sha256 and length of the first `size` bytes of `yes LINE`. */
function expected(size: number): { sha256: string; lastByte: number } {
  const unit = Buffer.from(`${LINE}\n`.repeat(Math.ceil(65536 / (LINE.length + 1))));
  const hash = createHash('sha256');
  let left = size;
  let last = 0;
  while (left > 0) {
    const part = unit.subarray(0, Math.min(left, unit.length));
    hash.update(part);
    last = part[part.length - 1]!;
    left -= part.length;
  }
  return { sha256: hash.digest('hex'), lastByte: last };
}

/** Splits a log into the script's bytes and the `[distci]` trailer the worker appends. */
function scriptPart(hash: { update(b: Buffer): void }, expectLastByte: number) {
  // The trailer is at most a few hundred bytes: hold back that much until the end.
  const HOLD = 512;
  let held = Buffer.alloc(0);
  let bytes = 0;
  return {
    push(b: Buffer) {
      held = Buffer.concat([held, b]);
      if (held.length > HOLD) {
        const out = held.subarray(0, held.length - HOLD);
        hash.update(out);
        bytes += out.length;
        held = Buffer.from(held.subarray(held.length - HOLD));
      }
    },
    end(): number {
      const text = held.toString('latin1');
      let at = text.lastIndexOf('[distci] exit code');
      if (at === -1) at = held.length;
      else if (expectLastByte !== 0x0a && at > 0 && text[at - 1] === '\n') at -= 1; // the note's own newline
      hash.update(held.subarray(0, at));
      return bytes + at;
    },
  };
}

export async function logs(ctx: BenchContext): Promise<LogsResult> {
  const lines = pick(ctx, 30, 150);
  const size = pick(ctx, 20_000_000, 200_000_000);
  const cluster = await startCluster({
    services: ctx.services,
    profile: ctx.profile,
    workers: [{ kind: 'control' }, { kind: 'exec-shell' }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'distci-bench-logs-'));
  try {
    const bigScript = `yes '${LINE}' | head -c ${size}`;
    await cluster.push({
      name: 'bench-lines',
      steps: [
        {
          name: 'run',
          type: 'exec-shell',
          run: `i=0; while [ $i -lt ${lines} ]; do date +%s%N; sleep 0.1; i=$((i+1)); done`,
        },
      ],
    });
    await cluster.push({ name: 'bench-big', steps: [{ name: 'run', type: 'exec-shell', run: bigScript }] });

    // Line latency.
    const latencies: number[] = [];
    const builds = pick(ctx, 1, 2);
    for (let b = 0; b < builds; b++) {
      const n = await cluster.trigger('bench-lines');
      await readSse(`${cluster.url}/api/v1/jobs/bench-lines/builds/${n}/logs/run?follow=1`, (e) => {
        if (e.event === 'end' || e.event === 'error') return true;
        if (e.event !== 'message') return false;
        for (const line of decodeChunk(e.data).toString('utf8').split('\n')) {
          if (/^\d{19}$/.test(line)) latencies.push(e.at - Number(BigInt(line) / 1000n) / 1000);
        }
        return false;
      });
      await cluster.finished('bench-lines', n);
    }
    const lineLatencyMs = summarize(latencies);
    ctx.log(
      `log line → follower: p50 ${lineLatencyMs.p50} ms, p99 ${lineLatencyMs.p99} ms (${latencies.length} lines)`,
    );

    // Volume.
    const want = expected(size);
    const n = await cluster.trigger('bench-big');
    const followedHash = createHash('sha256');
    const followed = scriptPart(followedHash, want.lastByte);
    await readSse(`${cluster.url}/api/v1/jobs/bench-big/builds/${n}/logs/run?follow=1`, (e) => {
      if (e.event === 'end' || e.event === 'error') return true;
      if (e.event === 'message') followed.push(decodeChunk(e.data));
      return false;
    });
    const followedScriptBytes = followed.end();
    const record = await cluster.finished('bench-big', n);
    const step = record.steps.find((s) => s.id === 'run')!;
    const storedHash = createHash('sha256');
    const stored = scriptPart(storedHash, want.lastByte);
    let tail = '';
    for (let i = 0; i < (step.logChunks ?? 0); i++) {
      const chunk = await readBlob(cluster.blob, blobKeys.logChunk('bench-big', n, 'run', step.attempt ?? 1, i));
      stored.push(chunk);
      tail = (tail + chunk.subarray(Math.max(0, chunk.length - 512)).toString('latin1')).slice(-512);
    }
    const storedScriptBytes = stored.end();
    const scriptSeconds = Number(/exit code 0 after ([\d.]+) s/.exec(tail)?.[1] ?? Number.NaN);
    const stepSeconds = (step.finishedAt! - step.startedAt!) / 1000;

    // The same script, bare: its output piped into this process and dropped.
    const script = join(dir, 'run.sh');
    writeFileSync(script, bigScript);
    const bareSeconds = await new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn('sh', ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let bytes = 0;
      child.stdout.on('data', (b: Buffer) => {
        bytes += b.length;
      });
      child.once('error', reject);
      child.once('close', (code) => {
        if (code !== 0 || bytes !== size) reject(new Error(`bare run: exit ${code}, ${bytes} bytes`));
        else resolve((performance.now() - t0) / 1000);
      });
    });
    const storedSha = storedHash.digest('hex');
    const volume = {
      bytes: size,
      storedScriptBytes,
      lostStored: size - storedScriptBytes,
      followedScriptBytes,
      lostFollowed: size - followedScriptBytes,
      contentIdentical: storedSha === want.sha256 && followedHash.digest('hex') === want.sha256,
      chunks: step.logChunks ?? 0,
      scriptSeconds: round(scriptSeconds),
      stepSeconds: round(stepSeconds),
      bareSeconds: round(bareSeconds),
      ratio: round(scriptSeconds / bareSeconds),
    };
    ctx.log(`log volume: ${JSON.stringify(volume)}`);

    // Viewer: the same log by lines, by search and by range, beside a raw download.
    const api = `${cluster.url}/api/v1/jobs/bench-big/builds/${n}/logs/run`;
    const first = await timed(`${api}/lines?from=1&count=512`);
    const { lines: total, bytes: logBytes } = JSON.parse(first.body.toString()) as { lines: number; bytes: number };
    const last = await timed(`${api}/lines?from=${Math.max(1, total - 511)}&count=512`);
    const search = await timed(`${api}/search?q=ABCDEFG&limit=10`);
    const range = await timed(api, { range: `bytes=${Math.floor(logBytes / 2)}-${Math.floor(logBytes / 2) + 65_535}` });
    const raw = await timed(api);
    const viewer = {
      logBytes,
      lines: total,
      firstLinesMs: first.ms,
      firstLinesBytes: first.bytes,
      lastPageMs: last.ms,
      searchMs: search.ms,
      searchTotal: (JSON.parse(search.body.toString()) as { total: number }).total,
      rangeMs: range.ms,
      rawMs: raw.ms,
      rawBytes: raw.bytes,
    };
    ctx.log(`log viewer: ${JSON.stringify(viewer)}`);
    return { lineLatencyMs, volume, viewer };
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
