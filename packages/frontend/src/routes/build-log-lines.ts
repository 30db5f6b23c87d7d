/**
 * A step's log by lines and by search, for viewers that must not download a 200 MB log (issue 11):
 * - `GET …/logs/:step/lines?from=&count=` (or `?tail=1&count=`): lines by number (1-based), with the
 *   ANSI state at the first one, coarse write times, and the log's size (lines, bytes, chunks) — read
 *   through the log's line index (`distci.logs.reader`, `common/src/distci/log-reader.ts`): a few small
 *   index objects and the one or two chunks that hold the lines.
 * - `GET …/logs/:step/search?q=`: every occurrence counted in the whole log (the text as a viewer shows
 *   it: escapes removed, `\r` applied, case-insensitive), and the line numbers of the first `limit`
 *   matching lines after `after`. A streamed scan of the chunks, one in memory at a time.
 * Both take `attempt` (as the plain log does) and `chunks`: answer about the first `chunks` chunks only
 * (what a client has seen, so its pages agree with the live tail it appends), default every chunk now.
 */
import { type Distci, distciError, type LogRef } from '@distci/common';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { assertAttempt, resolveStep, TERMINAL_STEP } from '../live/resolve-step.js';
import { errors, nullable, StepParams } from '../schemas/common.js';

/** 5,000 lines per request at most (a page of a viewer is a few hundred). */
const MAX_LINES = 5000;
/** 10,000 line numbers per search answer at most. */
const MAX_HITS = 10_000;

const Attempt = Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 }));
const Chunks = Type.Optional(
  Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'Answer about the first `chunks` chunks only.' }),
);

export interface StepLog {
  attempt: number | null;
  build: number;
  ref: LogRef | null;
  /** A finished step's final attempt: its chunk count is known and will not grow. */
  finished: boolean;
  chunks: number | null;
}

/** The log of a step's attempt (the current one unless pinned), as the log routes answer about it. */
export async function stepLog(
  distci: Distci,
  job: string,
  n: number,
  step: string,
  pinned: number | undefined,
): Promise<StepLog> {
  const resolved = await resolveStep(distci, job, n, step);
  assertAttempt(resolved, job, n, step, pinned);
  const attempt = pinned ?? resolved.step?.attempt ?? null;
  const build = resolved.logBuild;
  const s = resolved.step;
  const terminal = s !== null && TERMINAL_STEP.has(s.status);
  const final = terminal && attempt === s!.attempt;
  return {
    attempt,
    build,
    ref: attempt === null ? null : { job, build, step, attempt },
    // An earlier attempt of a step is over too: its writer is gone.
    finished: attempt === null ? terminal : final || (s !== null && attempt < (s.attempt ?? 0)),
    chunks: final ? (s!.logChunks ?? null) : null,
  };
}

/** Whether an answer about `answered` chunks covers the whole log for good. */
async function complete(distci: Distci, log: StepLog, asked: number | undefined, answered: number): Promise<boolean> {
  if (!log.finished || !log.ref) return log.finished;
  if (asked === undefined) return true; // every chunk there is
  return answered >= (log.chunks ?? (await distci.logs.reader.size(log.ref)).chunks);
}

const Size = {
  attempt: nullable(Type.Integer()),
  build: Type.Integer({ description: 'The build whose log it is (a retry’s copied step: the one that ran it).' }),
  lines: Type.Integer({ description: 'Lines in the log (in its first `chunks` chunks).' }),
  bytes: Type.Integer(),
  chunks: Type.Integer({ description: 'Chunks answered about: pass it back, and follow from this chunk.' }),
  partial: Type.Boolean({ description: 'The last line has no newline (yet).' }),
  finished: Type.Boolean({ description: 'The attempt is over: the log will not grow.' }),
};

export const buildLogLineRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const { distci } = fastify;

  fastify.get(
    '/api/v1/jobs/:job/builds/:n/logs/:step/lines',
    {
      schema: {
        tags: ['live'],
        summary: "Lines of a step's log by number, with their ANSI state and write times",
        params: StepParams,
        querystring: Type.Object({
          from: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000_000, description: '1-based.' })),
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LINES, default: 200 })),
          tail: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0')])),
          attempt: Attempt,
          chunks: Chunks,
        }),
        response: {
          200: Type.Object({
            ...Size,
            from: Type.Integer({ description: 'The number of the first line returned (1-based).' }),
            text: Type.Array(Type.String(), { description: 'The lines, without `\\n` (and one `\\r` before it).' }),
            ansi: Type.String({ description: 'The escape sequence that sets the SGR state at the first line.' }),
            times: Type.Array(Type.Array(Type.Integer()), {
              description:
                '[line, ms]: that line and the next ones were written at or after ms (coarse: per chunk, and every 1,000 lines).',
            }),
          }),
          ...errors(400, 401, 404, 416),
        },
      },
    },
    async (request) => {
      const { job, n, step } = request.params;
      const { from, count = 200, tail, attempt: pinned, chunks } = request.query;
      const log = await stepLog(distci, job, n, step, pinned);
      const head = { attempt: log.attempt, build: log.build, finished: log.finished };
      if (!log.ref) {
        return { ...head, lines: 0, bytes: 0, chunks: 0, partial: false, from: 1, text: [], ansi: '', times: [] };
      }
      const page = await distci.logs.reader.lines(log.ref, {
        count,
        tail: tail === '1' || tail === 'true',
        ...(from !== undefined ? { from } : {}),
        chunks: chunks ?? log.chunks,
      });
      if (from !== undefined && from > page.lines + 1) {
        throw distciError(
          'DISTCI_RANGE_NOT_SATISFIABLE',
          `line ${from} is past the end of the log (${page.lines} lines)`,
          {
            hint: `ask for lines 1-${page.lines}`,
            details: { job, build: n, step, attempt: log.attempt, from, lines: page.lines, chunks: page.chunks },
          },
        );
      }
      return { ...page, ...head, finished: await complete(distci, log, chunks, page.chunks) };
    },
  );

  fastify.get(
    '/api/v1/jobs/:job/builds/:n/logs/:step/search',
    {
      schema: {
        tags: ['live'],
        summary: "Search a step's log: the true count of occurrences and the matching line numbers",
        params: StepParams,
        querystring: Type.Object({
          q: Type.String({ minLength: 1, maxLength: 256 }),
          after: Type.Optional(
            Type.Integer({ minimum: 0, maximum: 10_000_000_000, description: 'Hits after this line.' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HITS, default: 1000 })),
          attempt: Attempt,
          chunks: Chunks,
        }),
        response: {
          200: Type.Object({
            ...Size,
            query: Type.String(),
            total: Type.Integer({ description: 'Occurrences in the whole log (case-insensitive, as shown).' }),
            matchedLines: Type.Integer({ description: 'Lines with at least one occurrence.' }),
            hits: Type.Array(Type.Integer(), { description: 'Matching line numbers after `after`, at most `limit`.' }),
            more: Type.Boolean({ description: 'More matching lines follow: ask again with `after` = the last hit.' }),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { job, n, step } = request.params;
      const { q, after = 0, limit = 1000, attempt: pinned, chunks } = request.query;
      const log = await stepLog(distci, job, n, step, pinned);
      const head = { attempt: log.attempt, build: log.build, finished: log.finished, query: q };
      if (!log.ref) {
        return {
          ...head,
          lines: 0,
          bytes: 0,
          chunks: 0,
          partial: false,
          total: 0,
          matchedLines: 0,
          hits: [],
          more: false,
        };
      }
      const found = await distci.logs.reader.search(log.ref, q, { chunks: chunks ?? log.chunks, after, limit });
      const size = await distci.logs.reader.size(log.ref, found.chunks);
      return { ...size, ...found, ...head, finished: await complete(distci, log, chunks, found.chunks) };
    },
  );
};
