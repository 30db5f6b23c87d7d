/** `GET /api/v1/workers`: every live worker (presence nodes): kind, labels, capacity, what it runs. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../schemas/common.js';
import { WorkerListSchema } from '../schemas/views.js';

export const workerRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/api/v1/workers',
    {
      schema: { tags: ['views'], summary: 'Live workers', response: { 200: WorkerListSchema, ...errors(401) } },
    },
    async () => ({ workers: await fastify.distci.tickets.workers() }),
  );
};
