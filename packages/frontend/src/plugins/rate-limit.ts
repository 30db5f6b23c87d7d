/**
 * Rate limits (@fastify/rate-limit, per client IP, in this process's memory):
 * - every write route (any method but GET/HEAD, the webhook included): `DISTCI_RATE_LIMIT_WRITES`
 *   per minute (default 300) — a token-guessing client is slowed down before auth runs;
 * - answers 404 (no such route): `DISTCI_RATE_LIMIT_NOT_FOUND` per minute (default 60) — scanners.
 * Over the limit → 429 `DISTCI_RATE_LIMITED` with `Retry-After`.
 *
 * The counters are per frontend instance (nothing shared: the frontend stays stateless), so with N
 * frontends behind a balancer a client gets up to N times the limit; put a shared limit in the balancer
 * when that matters.
 */
import { distciError } from '@distci/common';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sendError } from './error-handler.js';

/** 1 min: the window of both limits. */
const WINDOW_MS = 60_000;

export const rateLimitPlugin = fp(
  async (fastify: FastifyInstance) => {
    const { writesPerMinute, notFoundPerMinute } = fastify.frontendOptions.rateLimits;
    fastify.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      if (methods.some((m) => m !== 'GET' && m !== 'HEAD') && route.config?.rateLimit === undefined) {
        route.config = { ...route.config, rateLimit: { max: writesPerMinute, timeWindow: WINDOW_MS } };
      }
    });
    await fastify.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) =>
        distciError('DISTCI_RATE_LIMITED', `too many requests; retry in ${context.after}`, {
          details: { limit: context.max, retryAfterMs: context.ttl },
        }),
    });
    fastify.setNotFoundHandler(
      { preHandler: fastify.rateLimit({ max: notFoundPerMinute, timeWindow: WINDOW_MS }) },
      (request, reply) =>
        sendError(
          reply,
          distciError('DISTCI_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, {
            hint: 'the API is under /api/v1 (docs/api.md, GET /api/v1/openapi.json)',
          }),
        ),
    );
  },
  { name: 'distci-rate-limit', dependencies: ['distci-storage', 'distci-error-handler'] },
);
