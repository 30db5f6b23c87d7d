/**
 * The frontend as one fastify plugin: plugins first (storage, validation, errors, rate limits, auth,
 * metrics, SSE bookkeeping, OpenAPI), then the routes, one file per resource. It holds no state of its
 * own beyond per-process counters: everything it answers comes from the coordination store and the
 * object store, so any instance answers any request the same way (invariant 7).
 *
 * The inbox sweeper (`github/inbox-sweeper.ts`) runs while the app is up and stops on close.
 */
import type { FastifyInstance } from 'fastify';
import { dashboardPlugin } from './dashboard/dashboard-plugin.js';
import type { FrontendOptions } from './frontend-options.js';
import { runInboxSweeper } from './github/inbox-sweeper.js';
import { ssePlugin } from './live/sse.js';
import { authPlugin } from './plugins/auth.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { jsonBodyPlugin } from './plugins/json-body.js';
import { metricsPlugin } from './plugins/metrics.js';
import { openapiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { type FrontendStorage, storagePlugin } from './plugins/storage.js';
import { validationPlugin } from './plugins/validation.js';
import { artifactRoutes } from './routes/artifacts.js';
import { buildEventRoutes } from './routes/build-events.js';
import { buildLogLineRoutes } from './routes/build-log-lines.js';
import { buildLogRoutes } from './routes/build-logs.js';
import { buildRoutes } from './routes/builds.js';
import { githubWebhookRoutes } from './routes/github-webhook.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { queueRoutes } from './routes/queue.js';
import { secretRoutes } from './routes/secrets.js';
import { tokenRoutes } from './routes/tokens.js';
import { workerRoutes } from './routes/workers.js';

export interface AppOptions {
  storage: FrontendStorage;
  options: FrontendOptions;
}

export default async function app(fastify: FastifyInstance, { storage, options }: AppOptions): Promise<void> {
  await fastify.register(storagePlugin, { storage, options });
  await fastify.register(validationPlugin);
  await fastify.register(errorHandlerPlugin);
  await fastify.register(jsonBodyPlugin);
  await fastify.register(rateLimitPlugin);
  await fastify.register(authPlugin);
  await fastify.register(metricsPlugin);
  await fastify.register(ssePlugin);
  await fastify.register(openapiPlugin);

  await fastify.register(healthRoutes);
  await fastify.register(jobRoutes);
  await fastify.register(buildRoutes);
  await fastify.register(buildEventRoutes);
  await fastify.register(buildLogRoutes);
  await fastify.register(buildLogLineRoutes);
  await fastify.register(artifactRoutes);
  await fastify.register(githubWebhookRoutes);
  await fastify.register(workerRoutes);
  await fastify.register(queueRoutes);
  await fastify.register(dashboardPlugin);
  await fastify.register(secretRoutes);
  await fastify.register(tokenRoutes);

  if (options.webhookSweepMs > 0) {
    const controller = new AbortController();
    let sweeper: Promise<void> | null = null;
    fastify.addHook('onReady', async () => {
      sweeper = runInboxSweeper({
        webhooks: fastify.distci.webhooks,
        periodMs: options.webhookSweepMs,
        graceMs: options.webhookSweepMs,
        log: fastify.log.child({ loop: 'inbox-sweeper' }),
        signal: controller.signal,
        onTriggered: (n) => fastify.metrics.buildsTriggered.inc({ trigger: 'github' }, n),
      });
    });
    fastify.addHook('preClose', async () => {
      controller.abort();
      await sweeper;
    });
  }
}
