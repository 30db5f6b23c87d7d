/**
 * Rate limits (@fastify/rate-limit, per client IP, in this process's memory):
 * - every write route (any method but GET/HEAD, the webhook included): `DISTCI_RATE_LIMIT_WRITES`
 *   per minute (default 300), one budget shared by all of them — a token-guessing client is slowed
 *   down before auth runs, whichever route it tries. The budget is per valid token for a request that
 *   carries one (resolved before this hook, `auth.ts`), per client IP for the rest: bad tokens from an
 *   address use up that address's budget, never the budget of a valid token used from it;
 * - answers 404 (no such route): `DISTCI_RATE_LIMIT_NOT_FOUND` per minute (default 60) — scanners.
 * Over the limit → 429 `DISTCI_RATE_LIMITED` with `Retry-After`.
 *
 * The counters are per frontend instance (nothing shared: the frontend stays stateless), so with N
 * frontends behind a balancer a client gets up to N times the limit; put a shared limit in the balancer
 * when that matters.
 */
import { distciError } from '@distci/common';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sendError } from './error-handler.js';

/** 1 min: the window of both limits. */
const WINDOW_MS = 60_000;
/** 10,000 clients remembered per frontend (~1 MB); the least recently seen is forgotten first. */
const MAX_CLIENTS = 10_000;

/** Whom a request's budget belongs to: its valid token, else its IP. */
const clientKey = (request: FastifyRequest): string => (request.grant ? `${request.grant.caller}` : `ip:${request.ip}`);

type StoreCallback = (err: Error | null, result: { current: number; ttl: number }) => void;

/**
 * The counters, in one map for every route: @fastify/rate-limit's own store keeps a map per route, so
 * a budget shared by several routes (`groupId`) would not be shared. Fixed windows per key
 * (`<ip><group>`), bounded in size.
 */
export class SharedWindowStore {
  private readonly windows = new Map<string, { count: number; start: number }>();

  incr(key: string, cb: StoreCallback, timeWindow: number): void {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.start + timeWindow <= now) w = { count: 0, start: now };
    w.count++;
    this.windows.delete(key); // re-inserted last: Map order is recency
    this.windows.set(key, w);
    if (this.windows.size > MAX_CLIENTS) this.windows.delete(this.windows.keys().next().value!);
    cb(null, { current: w.count, ttl: w.start + timeWindow - now });
  }

  read(key: string, cb: StoreCallback, timeWindow: number): void {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.start + timeWindow <= now) cb(null, { current: 0, ttl: 0 });
    else cb(null, { current: w.count, ttl: w.start + timeWindow - now });
  }

  child(): SharedWindowStore {
    return this;
  }
}

export const rateLimitPlugin = fp(
  async (fastify: FastifyInstance) => {
    const { writesPerMinute, notFoundPerMinute } = fastify.frontendOptions.rateLimits;
    fastify.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      if (methods.some((m) => m !== 'GET' && m !== 'HEAD') && route.config?.rateLimit === undefined) {
        route.config = {
          ...route.config,
          rateLimit: { max: writesPerMinute, timeWindow: WINDOW_MS, groupId: 'writes', keyGenerator: clientKey },
        };
      }
    });
    const store = new SharedWindowStore();
    await fastify.register(rateLimit, {
      global: false,
      // A constructor that hands back this app's one store (the plugin calls `new store(options)`).
      store: function SharedStore() {
        return store;
      } as unknown as NonNullable<Parameters<typeof rateLimit>[1]>['store'],
      errorResponseBuilder: (_request, context) =>
        distciError('DISTCI_RATE_LIMITED', `too many requests; retry in ${context.after}`, {
          details: { limit: context.max, retryAfterMs: context.ttl },
        }),
    });
    fastify.setNotFoundHandler(
      { preHandler: fastify.rateLimit({ max: notFoundPerMinute, timeWindow: WINDOW_MS, groupId: 'not-found' }) },
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
