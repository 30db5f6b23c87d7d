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
import { type Counter, collectDefaultMetrics, type Gauge, Registry } from 'prom-client';
import { createBuildObserver } from '../build-metrics.js';
import { metricsOn } from './metrics-on.js';

/** Seconds to answer a request: 5 ms to a minute (SSE streams count their whole life). */
const HTTP_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

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
    const { counter, gauge, histogram } = metricsOn(registry);
    const requests = counter('distci_http_requests_total', 'HTTP requests answered', ['method', 'route', 'status']);
    const durations = histogram('distci_http_request_duration_seconds', 'Time to answer', ['method', 'route'], HTTP_S);
    const metrics: FrontendMetrics = {
      registry,
      buildsTriggered: counter('distci_builds_triggered_total', 'Builds triggered, by trigger type', ['trigger']),
      webhookDeliveries: counter('distci_webhook_deliveries_total', 'GitHub deliveries', ['event', 'outcome']),
      sseStreams: gauge('distci_sse_streams', 'Open server-sent event streams', ['stream']),
    };
    const waiting = gauge('distci_queue_waiting_tickets', 'Unclaimed tickets per queue', ['kind', 'labels']);
    const claimed = gauge('distci_queue_claimed_tickets', 'Claimed tickets per queue', ['kind', 'labels']);
    const oldest = gauge('distci_queue_oldest_wait_seconds', "The queue's oldest wait", ['kind', 'labels']);
    const workers = gauge('distci_workers', 'Live workers by kind and state', ['kind', 'state']);
    const scrapeErrors = counter('distci_queue_scrape_errors_total', 'Scrapes whose queue read failed');
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
