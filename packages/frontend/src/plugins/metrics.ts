/**
 * Prometheus metrics (prom-client), one registry per app instance (two frontends in one process — the
 * tests — do not share counters). Served at `GET /metrics` (auth: `read`).
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `distci_http_requests_total` | counter | method, route, status | answered requests; `route` is the route template (`/api/v1/jobs/:job`), `unmatched` for 404s |
 * | `distci_http_request_duration_seconds` | histogram | method, route | time to the last byte of the answer (SSE streams: their whole life) |
 * | `distci_builds_triggered_total` | counter | trigger | builds this frontend triggered: `manual`, `github`, `retry` |
 * | `distci_webhook_deliveries_total` | counter | event, outcome | GitHub deliveries: `triggered`, `duplicate`, `ignored`, `rejected` (bad signature) |
 * | `distci_sse_streams` | gauge | stream | open SSE streams: `events`, `logs` |
 * | `distci_queue_waiting_tickets` | gauge | kind, labels | unclaimed tickets per queue, read from `queueView` at scrape time |
 * | `distci_queue_claimed_tickets` | gauge | kind, labels | claimed tickets per queue, at scrape time |
 * | `distci_queue_oldest_wait_seconds` | gauge | kind, labels | how long the oldest waiting ticket of the queue has waited (0 when none waits) |
 * | `distci_workers` | gauge | kind, state | live workers (presence nodes), at scrape time |
 * | `distci_queue_scrape_errors_total` | counter | — | scrapes whose queue or build read failed (the other metrics are still served) |
 * | `distci_builds_finished_total`, `distci_build_duration_seconds`, `distci_step_duration_seconds`, `distci_claim_latency_seconds` | — | — | from archived build records: see `build-metrics.ts` |
 * | `distci_frontend_*` | — | — | prom-client's process metrics (CPU, memory, event loop lag, handles) |
 *
 * The queue metrics cost one `queueView` per scrape: a `children` per queue and per claim parent, and a
 * `get` per live worker — no ticket is read. The build metrics cost a `get` per job and a read of each
 * newly archived build record (`build-metrics.ts`).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createBuildObserver } from '../build-metrics.js';

export interface FrontendMetrics {
  registry: Registry;
  buildsTriggered: Counter<'trigger'>;
  webhookDeliveries: Counter<'event' | 'outcome'>;
  sseStreams: Gauge<'stream'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: FrontendMetrics;
  }
}

export const metricsPlugin = fp(
  async (fastify: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'distci_frontend_' });
    const requests = new Counter({
      name: 'distci_http_requests_total',
      help: 'HTTP requests answered, by route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    const durations = new Histogram({
      name: 'distci_http_request_duration_seconds',
      help: 'Time to answer a request (SSE: the whole stream)',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
      registers: [registry],
    });
    const metrics: FrontendMetrics = {
      registry,
      buildsTriggered: new Counter({
        name: 'distci_builds_triggered_total',
        help: 'Builds triggered through this frontend, by trigger type',
        labelNames: ['trigger'],
        registers: [registry],
      }),
      webhookDeliveries: new Counter({
        name: 'distci_webhook_deliveries_total',
        help: 'GitHub webhook deliveries by event and outcome',
        labelNames: ['event', 'outcome'],
        registers: [registry],
      }),
      sseStreams: new Gauge({
        name: 'distci_sse_streams',
        help: 'Open server-sent event streams',
        labelNames: ['stream'],
        registers: [registry],
      }),
    };
    const waiting = new Gauge({
      name: 'distci_queue_waiting_tickets',
      help: 'Unclaimed tickets per queue (kind, label set)',
      labelNames: ['kind', 'labels'],
      registers: [registry],
    });
    const claimed = new Gauge({
      name: 'distci_queue_claimed_tickets',
      help: 'Claimed tickets per queue (kind, label set)',
      labelNames: ['kind', 'labels'],
      registers: [registry],
    });
    const oldest = new Gauge({
      name: 'distci_queue_oldest_wait_seconds',
      help: 'How long the oldest waiting ticket of the queue has waited',
      labelNames: ['kind', 'labels'],
      registers: [registry],
    });
    const workers = new Gauge({
      name: 'distci_workers',
      help: 'Live workers by kind and state',
      labelNames: ['kind', 'state'],
      registers: [registry],
    });
    const scrapeErrors = new Counter({
      name: 'distci_queue_scrape_errors_total',
      help: 'Scrapes whose queue read failed',
      registers: [registry],
    });
    fastify.decorate('metrics', metrics);
    const builds = createBuildObserver(fastify.distci, registry);

    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
      requests.inc({ method: request.method, route, status: String(reply.statusCode) });
      durations.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });

    fastify.get(
      '/metrics',
      { config: { auth: 'read' }, schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true } },
      async (_request, reply) => {
        try {
          const view = await fastify.distci.tickets.queue();
          for (const g of [waiting, claimed, oldest, workers]) g.reset();
          for (const q of view.queues) {
            const labels = { kind: q.kind, labels: q.labels.join(',') };
            waiting.set(labels, q.waiting);
            claimed.set(labels, q.claimed);
            oldest.set(labels, (q.oldestWaitMs ?? 0) / 1000);
          }
          for (const w of view.workers) workers.inc({ kind: w.kind, state: w.state });
          await builds.observe();
        } catch (err) {
          scrapeErrors.inc();
          reply.request.log.warn({ err }, 'metrics: the queue view could not be read');
        }
        reply.type(registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'distci-metrics', dependencies: ['distci-storage'] },
);
