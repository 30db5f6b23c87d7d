/**
 * `GET /api/v1/jobs/:job/builds/:n/logs/:step`: a step's log.
 * - Plain (`text/plain`): the chunks of the step's attempt concatenated, byte for byte, as far as they
 *   exist now. The attempt is the step's (committed when finished, the running claim's while it runs);
 *   `?attempt=` picks another (one the step has not had is 404 `DISTCI_ATTEMPT_NOT_FOUND`). Headers: `X-Distci-Attempt`, `X-Distci-Build` (the build whose log it is:
 *   a retry's copied step shows the log of the build that ran it).
 *   `Range: bytes=a-b` (one range; `a-`, `-n` too): 206 with `Content-Range`, read through the log's
 *   line index (only the chunks holding those bytes); past the end: 416 `DISTCI_RANGE_NOT_SATISFIABLE`
 *   with `Content-Range: bytes *\/<size>`. Several ranges or a malformed header: the whole log (200), as
 *   RFC 9110 allows.
 * - `?follow=1`: server-sent events, one per chunk, `id` = chunk number, until the step is finished and
 *   every chunk was sent (`live/log-follow.ts` documents the polling, the encoding and resuming with
 *   `Last-Event-ID`). `&after=k` starts after chunk k, as `Last-Event-ID: k` does (a viewer that read
 *   the first k+1 chunks by lines follows from there); the header wins when both are sent.
 * Lines and search: `build-log-lines.ts`.
 */

import { Readable } from 'node:stream';
import { distciError } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { followLog } from '../live/log-follow.js';
import { assertAttempt, resolveStep, TERMINAL_STEP } from '../live/resolve-step.js';
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
          after: Type.Optional(
            Type.Integer({ minimum: -1, maximum: 100_000_000, description: 'follow: start after this chunk.' }),
          ),
        }),
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ maxLength: 32 })),
          range: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: {
          200: {
            description:
              'text/plain: the log bytes; with follow: text/event-stream (`attempt`, chunk events with `id`, `end`)',
            content: {
              'text/plain': { schema: Type.String() },
              'text/event-stream': { schema: Type.String() },
            },
          },
          206: {
            description: 'text/plain: the bytes of the `Range:` asked for (`Content-Range` says which)',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errors(400, 401, 404, 416),
        },
      },
    },
    async (request, reply) => {
      const { job, n, step } = request.params;
      const { attempt: pinned, follow, after } = request.query;
      const resolved = await resolveStep(distci, job, n, step);
      assertAttempt(resolved, job, n, step, pinned);
      if (follow === '1' || follow === 'true') {
        const last = lastEventId(request);
        const stream = openSse(fastify, reply, 'logs');
        await followLog({
          distci,
          job,
          number: n,
          step,
          pinned: pinned ?? null,
          from: last !== null ? last + 1 : after !== undefined ? after + 1 : 0,
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
      reply.header('accept-ranges', 'bytes');
      if (attempt === null) return reply.send('');
      const build = resolved.logBuild;
      const range = parseRange(request.headers.range);
      if (range) {
        const ref = { job, build, step, attempt };
        const final =
          resolved.step !== null && TERMINAL_STEP.has(resolved.step.status) && attempt === resolved.step.attempt;
        const size = await distci.logs.reader.size(ref, final ? resolved.step!.logChunks : null);
        const [start, end] =
          range.start === null
            ? [Math.max(0, size.bytes - (range.end ?? 0)), size.bytes - 1]
            : [range.start, Math.min(range.end ?? size.bytes - 1, size.bytes - 1)];
        if (start >= size.bytes || end < start) {
          reply.header('content-range', `bytes */${size.bytes}`);
          throw distciError(
            'DISTCI_RANGE_NOT_SATISFIABLE',
            `the log has ${size.bytes} bytes: ${request.headers.range} is past its end`,
            {
              hint: size.bytes ? `ask within bytes=0-${size.bytes - 1}` : 'the log is empty',
              details: { job, build: n, step, attempt, bytes: size.bytes },
            },
          );
        }
        reply
          .code(206)
          .header('content-range', `bytes ${start}-${end}/${size.bytes}`)
          .header('content-length', end - start + 1);
        return reply.send(Readable.from(distci.logs.reader.bytes(ref, start, end, size.chunks)) as never);
      }
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

/** One `bytes=a-b`, `a-` or `-n` range; null for anything else (several ranges, other units, malformed). */
export function parseRange(header: string | undefined): { start: number | null; end: number | null } | null {
  const m = header ? /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') return { start: null, end: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === '' ? null : Number(m[2]);
  return end !== null && end < start ? null : { start, end };
}
