/**
 * The optional HTTP endpoint of a worker process (`--metrics-port`): `GET /metrics` (Prometheus text)
 * and `GET /healthz` (200 while every worker's session is usable, 503 naming the ones that are not).
 * node:http, not fastify: two read-only routes do not need a framework in every worker process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface WorkerHttpInput {
  host: string;
  port: number;
  registry: Registry;
  /** Null when healthy; otherwise why not (one line). */
  unhealthy(): string | null;
}

export interface WorkerHttp {
  readonly url: string;
  close(): Promise<void>;
}

export async function startWorkerHttp(input: WorkerHttpInput): Promise<WorkerHttp> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      input.registry.metrics().then(
        (text) => send(200, input.registry.contentType, text),
        (err: Error) => send(500, 'text/plain', `metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/healthz') {
      const why = input.unhealthy();
      return send(
        why ? 503 : 200,
        'application/json',
        `${JSON.stringify(why ? { ok: false, reason: why } : { ok: true })}\n`,
      );
    }
    send(404, 'text/plain', 'not found: /metrics and /healthz are served here\n');
  });
  // 5 s: a scrape or a probe is one short request; a connection idle longer is closed.
  server.keepAliveTimeout = 5000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port, input.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${input.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
