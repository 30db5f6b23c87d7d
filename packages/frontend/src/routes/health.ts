/**
 * `/healthz`: the process answers (for a liveness probe: restart it when this fails).
 * `/readyz`: this frontend can serve — its coordination session is connected and the object store's
 * bucket exists and answers a HEAD within 2 s; 503 `DISTCI_NOT_READY` otherwise, naming which (for a readiness probe:
 * take it out of the balancer, do not restart it; the session reconnects by itself).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../schemas/common.js';

/** 2 s: a readiness probe usually times out at 1-5 s; an object store slower than this is not ready. */
const BLOB_PROBE_MS = 2000;
/** A key that never exists: a HEAD of it is the cheapest round trip the object store answers. */
const PROBE_KEY = 'readyz/probe';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Liveness pings carry no domain name: the storage under the domain layer.
  const { store, blob } = fastify.distci.storage;

  fastify.get(
    '/healthz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...errors() },
      },
    },
    async () => ({ ok: true }),
  );

  fastify.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Readiness: coordination store connected and object store reachable',
        response: {
          200: Type.Object({ ok: Type.Boolean(), coordination: Type.String(), objectStore: Type.String() }),
          ...errors(),
        },
      },
    },
    async (request, reply) => {
      const coordination = store.state;
      let objectStore = 'ok';
      try {
        // The container first: a HEAD of a key in a missing bucket answers 404 like a missing key, so
        // without this a frontend on a fresh RGW said ready and failed every write.
        if (!(await withTimeout(blob.containerExists(), BLOB_PROBE_MS))) {
          objectStore = `${blob.where} does not exist — run \`distci storage init\``;
        } else {
          await withTimeout(blob.head(PROBE_KEY), BLOB_PROBE_MS);
        }
      } catch (err) {
        objectStore = `unreachable: ${(err as Error).message}`;
      }
      if (coordination !== 'connected' || objectStore !== 'ok') {
        // Answered here, not thrown: the error handler hides the details of every 5xx, and these are
        // exactly what an operator needs (they hold no secrets).
        return reply.code(503).send({
          code: 'DISTCI_NOT_READY',
          message: `not ready: coordination store ${coordination}, object store ${objectStore}`,
          details: { coordination, objectStore },
          requestId: request.id,
        });
      }
      return { ok: true, coordination, objectStore };
    },
  );
};
