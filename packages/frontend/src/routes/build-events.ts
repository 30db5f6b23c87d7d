/**
 * `GET /api/v1/jobs/:job/builds/:n/events`: server-sent events of a build's state (`live/build-events.ts`):
 * `event: build` with the full build view on each change, `event: end` with the final (archived) view.
 * `Last-Event-ID: k` resumes: the current view comes as `k+1`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { streamBuildEvents } from '../live/build-events.js';
import { lastEventId, openSse } from '../live/sse.js';
import { BuildParams, errors } from '../schemas/common.js';

export const buildEventRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { distci } = fastify;
  fastify.get(
    '/api/v1/jobs/:job/builds/:n/events',
    {
      schema: {
        tags: ['live'],
        summary: 'Server-sent events: the build view on each change, then `end`',
        params: BuildParams,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 32 })) }),
        response: {
          200: {
            description: 'text/event-stream: `event: build` / `event: end`, `id: k`, `data: <build view JSON>`',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { job, n } = request.params;
      await distci.builds.read(job, n); // 404 as JSON before the stream opens
      const stream = openSse(fastify, reply, 'events');
      await streamBuildEvents({
        distci,
        job,
        number: n,
        stream,
        lastId: lastEventId(request),
        log: request.log,
      });
    },
  );
};
