/**
 * `GET /api/v1/queue`: per worker kind and label set, how many tickets wait and are claimed, the oldest
 * wait, the workers that could serve them and — when tickets wait — why ("no live exec-shell worker
 * has labels gpu").
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../schemas/common.js';
import { QueueViewSchema } from '../schemas/views.js';

export const queueRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/api/v1/queue',
    {
      schema: {
        tags: ['views'],
        summary: 'What waits, for how long, and why',
        response: { 200: QueueViewSchema, ...errors(401) },
      },
    },
    async () => fastify.distci.tickets.queue(),
  );
};
