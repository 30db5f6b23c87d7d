/**
 * Following a step's log live (`GET …/logs/:step?follow=1`), lossless and resumable.
 *
 * A log is numbered immutable chunks, `builds/<job>/<n>/logs/<step>/<attempt>/<chunk10>`, written in
 * order from 0 (a writer never stores chunk k+1 before chunk k is stored, and stops at its first
 * failure), about one a second while the step runs. So the next chunk is found by asking for *it*:
 * a GET of chunk `next` either returns it or 404s. That is one request per poll whatever the log's
 * length, where listing the prefix would cost a page per 1000 chunks per poll; the result is the same.
 *
 * When to look (there is no event for a new object): the followers of one log share ONE reader per
 * frontend (`distci.logs.follow`, `log-feed.ts` in the domain): it looks every `pollMs` (default
 * 500 ms: chunks come about once a second) and at once after a chunk arrived, reads each chunk once,
 * and wakes every follower, which sends it from memory. So 500 followers of one busy step cost what
 * one does (issue 13, hole 7: they each polled storage, half a core). A follower re-reads the step:
 * - when the step changes: a watch on the step node (its result), and while it is `queued`, on the
 *   claim parents (it starting);
 * The step's view is re-read on every change, and every 5 s of silence (a lost attempt changes no
 * node until the next attempt finishes; this notices the new attempt's claim sooner).
 *
 * End: the step's state is read *before* the last catch-up (a probe of the shared reader that starts
 * after it), so when it was finished then, the catch-up that follows has read every chunk there is: then `event: end` and the stream closes. Nothing is lost and
 * nothing is sent twice: event ids are chunk numbers, and `Last-Event-ID: k` resumes at chunk k+1.
 *
 * Attempts: without `?attempt=`, the stream follows the step's current attempt (the running claim's,
 * then the committed one), announced by an `attempt` event before its first chunk. If that attempt is
 * superseded (its worker was lost and another attempt ran), another `attempt` event announces the new
 * one with an empty `id:` — which resets the client's last event id, so a reconnect starts the new
 * attempt from chunk 0 — and its chunks follow from id 0. One window remains: a client that drops
 * *before* it sees the switch resumes by chunk number in the new attempt; a client that must never
 * mix attempts pins one with `?attempt=` (the `attempt` event names it).
 *
 * Encoding (`encodeChunk`): each chunk is one event whose `data` is JSON — the chunk's text as a JSON
 * string when it is valid UTF-8 (the log writer cuts chunks on character boundaries, so practically
 * always), else `{"base64": "…"}`. JSON keeps newlines and carriage returns out of the SSE framing, and
 * the client gets exactly the chunk's bytes back: a chunk ending with or without a newline, with `\r`,
 * a BOM or NUL, round-trips byte for byte.
 */
import { coerceError, type Distci, isDistciError, type LogFeed } from '@distci/common';
import type { FastifyBaseLogger } from 'fastify';
import { type ResolvedStep, resolveStep, TERMINAL_STEP } from './resolve-step.js';
import type { SseStream } from './sse.js';
import { Changes, WatchSet } from './watch-set.js';

/** 5 s: how long a follower goes without re-reading the step's view when nothing changes. */
const SILENT_REREAD_MS = 5000;
/** 1 s: the wait before trying again after a store error. */
const ERROR_BACKOFF_MS = 1000;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** One chunk as an event's `data` (see the header). */
export function encodeChunk(bytes: Buffer): string {
  try {
    return JSON.stringify(utf8.decode(bytes));
  } catch {
    return JSON.stringify({ base64: bytes.toString('base64') });
  }
}

/** The inverse of `encodeChunk`, for clients (and tests). */
export function decodeChunk(data: string): Buffer {
  const value = JSON.parse(data) as string | { base64: string };
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.base64, 'base64');
}

export interface FollowLogInput {
  distci: Distci;
  job: string;
  number: number;
  step: string;
  /** `?attempt=`: follow this attempt only. */
  pinned: number | null;
  /** The first chunk to send (Last-Event-ID + 1, or 0). */
  from: number;
  pollMs: number;
  stream: SseStream;
  log: FastifyBaseLogger;
  /** The step as the route resolved it before opening the stream. */
  resolved: ResolvedStep;
}

export async function followLog(input: FollowLogInput): Promise<void> {
  const { distci, job, number, step, pinned, pollMs, stream, log } = input;
  const changes = new Changes();
  const watches = new WatchSet(distci.storage.store, changes);
  /** The shared reader of the log followed now (one attempt's, in the build that holds it). */
  let feed: LogFeed | null = null;
  let feedOf = '';
  const feedFor = (build: number, attempt: number): LogFeed => {
    const key = `${build}/${attempt}`;
    if (!feed || feedOf !== key) {
      feed?.close();
      feed = distci.logs.follow({ job, build, step, attempt }, () => changes.poke());
      feedOf = key;
    }
    return feed;
  };
  let resolved = input.resolved;
  let readAt = Date.now();
  let attempt: number | null = pinned;
  let announced: number | null = null;
  let next = input.from;

  const refresh = async () => {
    if (resolved.view.live) {
      const claims = !resolved.step || resolved.step.status === 'queued';
      await distci.builds.watchStep(watches, job, number, step, { claims });
    }
    resolved = await resolveStep(distci, job, number, step);
    readAt = Date.now();
  };

  try {
    await refresh();
    while (!stream.signal.aborted) {
      try {
        const current = resolved.step;
        if (pinned === null && current?.attempt != null && current.attempt !== attempt) {
          if (attempt !== null) next = 0; // the followed attempt was superseded: the new one's log starts at 0
          attempt = current.attempt;
        }
        if (attempt !== null && announced !== attempt) {
          // A switch resets the client's last event id (an empty `id:`): the ids it saw were another
          // attempt's, and a reconnect must start the new one from chunk 0, not after them.
          const data = JSON.stringify({ step, attempt, build: resolved.logBuild });
          await stream.send({ ...(announced !== null ? { id: '' } : {}), event: 'attempt', data });
          announced = attempt;
        }
        const finished = !resolved.view.live || (current !== null && TERMINAL_STEP.has(current.status));
        if (attempt !== null) {
          const chunks = feedFor(resolved.logBuild, attempt);
          // Finished when read: one probe that starts now sees every chunk there is.
          if (finished) await chunks.catchUp();
          for (;;) {
            if (stream.signal.aborted) return;
            const chunk = await chunks.chunk(next);
            if (!chunk) break;
            await stream.send({ id: next, data: encodeChunk(chunk) });
            next++;
          }
        }
        const settled = pinned !== null || current === null || current.attempt === null || current.attempt === attempt;
        if (finished && settled) {
          const status = current?.status ?? 'skipped';
          await stream.send({ event: 'end', data: JSON.stringify({ step, status, attempt, chunks: next }) });
          return;
        }
        const changed = await changes.wait(stream.signal, pollMs);
        if (changed || Date.now() - readAt >= SILENT_REREAD_MS) await refresh();
      } catch (err) {
        if (isDistciError(err) && (err as { status?: number }).status! < 500) {
          // The build or step is gone (retention): say so and end; retrying cannot help.
          const { code, message } = err as { code: string; message: string };
          await stream.send({ event: 'error', data: JSON.stringify({ code, message }) });
          return;
        }
        log.warn({ err: coerceError(err), job, build: number, step }, 'log follow: read failed; retrying');
        await changes.wait(stream.signal, ERROR_BACKOFF_MS);
        await refresh().catch(() => {});
      }
    }
  } finally {
    (feed as LogFeed | null)?.close();
    watches.close();
    stream.end();
  }
}
