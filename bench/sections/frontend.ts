/**
 * 7. Frontend: `GET /api/v1/jobs/:job/builds/:n` of an archived build (autocannon, 10 connections)
 * against a bare fastify route returning the same JSON (`fixtures/bare-route.ts`), each its own
 * process, measured alternately so that both see the same machine. req/s and p99 latency.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startCluster } from '../lib/cluster.js';
import { type BenchContext, pick } from '../lib/context.js';
import { noopJob } from '../lib/jobs.js';
import { spawnFixture, stopProcesses } from '../lib/processes.js';
import { round } from '../lib/stats.js';

export interface HttpFigure {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface FrontendResult {
  connections: number;
  seconds: number;
  responseBytes: number;
  frontend: HttpFigure;
  bare: HttpFigure;
  /** frontend req/s ÷ bare req/s. */
  ratio: number;
}

async function load(url: string, connections: number, duration: number): Promise<HttpFigure> {
  const r = await autocannon({ url, connections, duration });
  return {
    requestsPerSecond: round(r.requests.average),
    p50Ms: round(r.latency.p50),
    p99Ms: round(r.latency.p99),
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

/** The better of several rounds (noise on these machines only ever slows a round down). */
function best(figures: HttpFigure[]): HttpFigure {
  return figures.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
}

export async function frontend(ctx: BenchContext): Promise<FrontendResult> {
  const connections = 10;
  const seconds = pick(ctx, 3, 10);
  const rounds = pick(ctx, 1, 3);
  const cluster = await startCluster({
    services: ctx.services,
    profile: ctx.profile,
    workers: [{ kind: 'control' }, { kind: 'exec-shell' }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'distci-bench-fe-'));
  let bare: ReturnType<typeof spawnFixture> | null = null;
  try {
    await cluster.push(noopJob());
    const n = await cluster.trigger('bench-noop');
    await cluster.finished('bench-noop', n);
    const path = `/api/v1/jobs/bench-noop/builds/${n}`;
    const res = await fetch(`${cluster.url}${path}`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text}`);
    writeFileSync(join(dir, 'build.json'), text);
    bare = spawnFixture('bare-route', 'bare-route.ts', [join(dir, 'build.json')], {});
    const bareUrl = (await bare.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    const bareText = await (await fetch(`${bareUrl}${path}`)).text();
    if (bareText !== text) throw new Error('the bare route does not answer the same JSON');
    // Warm-up both (JIT), then alternate.
    await load(`${cluster.url}${path}`, connections, 1);
    await load(`${bareUrl}${path}`, connections, 1);
    const fe: HttpFigure[] = [];
    const bareFigures: HttpFigure[] = [];
    for (let i = 0; i < rounds; i++) {
      fe.push(await load(`${cluster.url}${path}`, connections, seconds));
      bareFigures.push(await load(`${bareUrl}${path}`, connections, seconds));
    }
    const out: FrontendResult = {
      connections,
      seconds,
      responseBytes: Buffer.byteLength(text),
      frontend: best(fe),
      bare: best(bareFigures),
      ratio: round(best(fe).requestsPerSecond / best(bareFigures).requestsPerSecond),
    };
    ctx.log(`frontend GET build: ${JSON.stringify(out)}`);
    return out;
  } finally {
    if (bare) await stopProcesses([bare]);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
