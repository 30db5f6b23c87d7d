/**
 * `GET /api/v1/jobs/:job/builds/:n/logs/:step`: a step's log.
 * - Plain (`text/plain`): the chunks of the step's attempt concatenated, byte for byte, as far as they
 *   exist now. The attempt is the step's (committed when finished, the running claim's while it runs);
 *   `?attempt=` picks another (one the step has not had is 404 `DISTCI_ATTEMPT_NOT_FOUND`). Headers: `X-Distci-Attempt`, `X-Distci-Build` (the build whose log it is:
 *   a retry's copied step shows the log of the build that ran it).
 * - `?follow=1`: server-sent events, one per chunk, `id` = chunk number, until the step is finished and
 *   every chunk was sent (`live/log-follow.ts` documents the polling, the encoding and resuming with
 *   `Last-Event-ID`).
 */
import { Readable } from 'node:stream';
import { distciError } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { followLog } from '../live/log-follow.js';
import { resolveStep } from '../live/resolve-step.js';
import { lastEventId, openSse } from '../live/sse.js';
import { errors, StepParams } from '../schemas/common.js';

export const buildLogRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { distci } = fastify;
  const { logPollMs } = fastify.frontendOptions;

  fastify.get(
    '/api/v1/jobs/:job/builds/:n/logs/:step',
    {
      schema: {
        tags: ['live'],
        summary: "A step's log: plain text, or with ?follow=1 server-sent events per chunk",
        params: StepParams,
        querystring: Type.Object({
          attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          follow: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0')])),
        }),
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 32 })) }),
        response: {
          200: {
            description:
              'text/plain: the log bytes; with follow: text/event-stream (`attempt`, chunk events with `id`, `end`)',
            content: {
              'text/plain': { schema: Type.String() },
              'text/event-stream': { schema: Type.String() },
            },
          },
          ...errors(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { job, n, step } = request.params;
      const { attempt: pinned, follow } = request.query;
      const resolved = await resolveStep(distci, job, n, step);
      // An attempt the step has not had (yet) has no log: 404, not an empty 200.
      const attempts = resolved.step?.attempt ?? 0;
      if (pinned !== undefined && pinned > attempts) {
        throw distciError('DISTCI_ATTEMPT_NOT_FOUND', `step '${step}' of build ${n} has no attempt ${pinned}`, {
          hint: attempts ? `its attempts are 1-${attempts}` : 'it has not started yet',
          details: { job, build: n, step, attempt: pinned, attempts },
        });
      }
      if (follow === '1' || follow === 'true') {
        const last = lastEventId(request);
        const stream = openSse(fastify, reply, 'logs');
        await followLog({
          distci,
          job,
          number: n,
          step,
          pinned: pinned ?? null,
          from: last === null ? 0 : last + 1,
          pollMs: logPollMs,
          stream,
          log: request.log,
          resolved,
        });
        return;
      }
      const attempt = pinned ?? resolved.step?.attempt ?? null;
      reply
        .type('text/plain; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        .header('x-distci-attempt', attempt === null ? 'none' : String(attempt))
        .header('x-distci-build', String(resolved.logBuild));
      if (attempt === null) return reply.send('');
      const build = resolved.logBuild;
      async function* chunks() {
        for (let i = 0; ; i++) {
          const chunk = await distci.logs.read({ job, build, step, attempt: attempt! }, i);
          if (!chunk) return;
          yield chunk;
        }
      }
      return reply.send(Readable.from(chunks()) as never); // a stream: fastify pipes it
    },
  );
};
