/**
 * A fastify instance running the frontend app on given storage, not listening yet: what `server.ts`
 * boots and what tests `inject` into. Server-level settings live here: logging (pino, with the
 * `Authorization` and signature headers redacted, and a request's `job`, `build` and `step` from its
 * route params as top-level fields: the names the workers' log lines use), request ids (random: unique across frontends),
 * the default body limit, trusting a proxy.
 */
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import app from './app.js';
import type { FrontendOptions } from './frontend-options.js';
import { sendError } from './plugins/error-handler.js';
import type { FrontendStorage } from './plugins/storage.js';

export interface CreateFrontendInput {
  storage: FrontendStorage;
  options: FrontendOptions;
  /** Overrides the pino logger options (tests pass `false`). */
  logger?: FastifyServerOptions['logger'];
}

export async function createFrontend({ storage, options, logger }: CreateFrontendInput): Promise<FastifyInstance> {
  const given = logger ?? {
    level: options.logLevel,
    redact: ['req.headers.authorization', 'req.headers["x-hub-signature-256"]'],
  };
  const fastify = Fastify({
    logger: given && typeof given === 'object' ? { mixin: requestFields, ...given } : given,
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimits.other,
    trustProxy: options.trustProxy,
    return503OnClosing: true,
    // Errors before routing (a URL that does not decode): the same error shape as every other.
    frameworkErrors: (error, _request, reply) => sendError(reply, error),
    routerOptions: { maxParamLength: 1024 },
    // A slow or stalled client cannot hold a connection (and a buffered body) for ever.
    requestTimeout: options.requestTimeoutMs,
    connectionTimeout: options.connectionTimeoutMs,
    // Node checks request timeouts every 30 s by default (a 30 s timeout could take 60 s to act), and
    // ignores requestTimeout silently while headersTimeout (default 60 s) is longer.
    http: {
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
      headersTimeout: Math.min(60_000, options.requestTimeoutMs),
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await fastify.register(fp(app, { name: 'distci-frontend' }), { storage, options });
  return fastify as unknown as FastifyInstance;
}

/**
 * pino's mixin: `job`, `build` and `step` of the request a line is about (`{req}` on "incoming
 * request", `{res}` on "request completed"), from the route params `:job`, `:n` and `:step`.
 */
export function requestFields(merge: object): Record<string, string | number> {
  const m = merge as { req?: { params?: unknown }; res?: { request?: { params?: unknown } } };
  const params = m.req?.params ?? m.res?.request?.params;
  if (!params || typeof params !== 'object') return {};
  const p = params as Record<string, unknown>;
  const build = Number(p.n);
  return {
    ...(typeof p.job === 'string' ? { job: p.job } : {}),
    // A string on "incoming request", a number once the route's schema has coerced it.
    ...(p.n !== undefined && p.n !== '' && Number.isSafeInteger(build) ? { build } : {}),
    ...(typeof p.step === 'string' ? { step: p.step } : {}),
  };
}
