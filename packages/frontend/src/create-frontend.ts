/**
 * A fastify instance running the frontend app on given storage, not listening yet: what `server.ts`
 * boots and what tests `inject` into. Server-level settings live here: logging (pino, with the
 * `Authorization` and signature headers redacted), request ids (random: unique across frontends),
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
  const fastify = Fastify({
    logger: logger ?? {
      level: options.logLevel,
      redact: ['req.headers.authorization', 'req.headers["x-hub-signature-256"]'],
    },
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimits.other,
    trustProxy: options.trustProxy,
    return503OnClosing: true,
    // Errors before routing (a URL that does not decode): the same error shape as every other.
    frameworkErrors: (error, _request, reply) => sendError(reply, error),
    routerOptions: { maxParamLength: 1024 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await fastify.register(fp(app, { name: 'distci-frontend' }), { storage, options });
  return fastify as unknown as FastifyInstance;
}
