/**
 * The live side of the API, in one place (packages/frontend/src/live):
 * - a build's events, `GET …/builds/<n>/events`: `event: build` with the full build view on every
 *   change, then `event: end` with the final view when the build is archived;
 * - a step's log, `GET …/builds/<n>/logs/<step>`: the text so far, or with `?follow=1` a stream of
 *   chunks (`data` is the chunk as a JSON string, or `{"base64": …}` for bytes that are not UTF-8), an
 *   `attempt` event when the step's attempt starts or is superseded, and `end` when the log is complete.
 * Every other module sees only `watchBuild` and `readStepLog`.
 *
 * Both resume where they were when a stream drops once it was open (a frontend restarted, or another
 * instance behind the load balancer answers next: any frontend answers the same, invariant 7): the
 * next request carries `Last-Event-ID`, and a log stream pins the attempt it was reading, so nothing
 * is printed twice or skipped. They keep trying for `RECONNECT_MS`, then give up with the error.
 */

import type { BuildView } from '@distci/common';
import { type ApiClient, apiPath } from './api-client.js';
import { CliError, cliError, EXIT } from './cli-error.js';
import { readSse } from './sse.js';

const FINAL = new Set(['success', 'failure', 'cancelled', 'error']);

/** 30 s: long enough for a frontend to restart (or a balancer to notice a dead one), short of a hang. */
const RECONNECT_MS = 30_000;

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Errors worth another try: the frontend unreachable or not ready, or its socket cut mid-stream. */
function transient(err: unknown): boolean {
  if (err instanceof CliError) {
    return (
      err.exitCode === EXIT.unreachable ||
      ['DISTCI_NOT_READY', 'HTTP_502', 'HTTP_503', 'HTTP_504'].includes(err.code ?? '')
    );
  }
  // fetch's body stream fails with a TypeError ("terminated") when the socket closes mid-response.
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | null)?.cause?.code;
  return err instanceof TypeError || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
}

/** Calls `attempt` until it returns, retrying transient errors with backoff (250 ms doubling to 4 s) for `RECONNECT_MS`. */
async function retrying<T>(signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RECONNECT_MS;
  let wait = 250;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (signal.aborted || !transient(err) || Date.now() + wait > deadline) throw err;
      await delay(wait, signal);
      wait = Math.min(wait * 2, 4000);
    }
  }
}

export function isFinished(view: BuildView): boolean {
  return FINAL.has(view.status) && !view.live;
}

/**
 * Yields the build's view now and after every change, until it is finished (the last one yielded is
 * the archived, final view). Reconnects when the event stream drops before the end.
 */
export async function* watchBuild(
  api: ApiClient,
  job: string,
  n: number,
  signal: AbortSignal,
): AsyncGenerator<BuildView> {
  let lastId: string | null = null;
  const open = () =>
    api.raw('GET', apiPath('jobs', job, 'builds', n, 'events'), {
      signal,
      headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
    });
  // The first request fails at once (a wrong URL or job is said now); later ones are reconnections.
  let res: Response | null = await open();
  while (!signal.aborted) {
    res ??= await retrying(signal, open);
    if (!res.body) throw cliError(`the event stream of ${job} #${n} has no body`);
    try {
      for await (const event of readSse(res.body)) {
        if (event.id) lastId = event.id;
        if (event.event !== 'build' && event.event !== 'end') continue;
        const view = JSON.parse(event.data) as BuildView;
        yield view;
        if (event.event === 'end' || isFinished(view)) {
          await res.body.cancel().catch(() => {});
          return;
        }
      }
    } catch (err) {
      if (signal.aborted || !transient(err)) throw err;
    }
    res = null; // the stream ended before the build did: reconnect
  }
}

export type LogItem =
  | { type: 'text'; text: string; attempt: number | null }
  | { type: 'attempt'; attempt: number }
  | { type: 'end'; status: string; attempt: number | null };

function decodeChunk(data: string): string {
  const value = JSON.parse(data) as string | { base64: string };
  return typeof value === 'string' ? value : Buffer.from(value.base64, 'base64').toString('utf8');
}

/**
 * A step's log, in pieces as they arrive. Without `follow`: the text there is now, then the end. With
 * it: the stream stays open while the step runs, follows a new attempt when one supersedes the
 * current, and ends when the step's log is complete.
 */
export async function* readStepLog(
  api: ApiClient,
  job: string,
  n: number,
  step: string,
  options: { attempt?: number; follow: boolean; signal: AbortSignal },
): AsyncGenerator<LogItem> {
  const path = apiPath('jobs', job, 'builds', n, 'logs', step);
  let attempt: number | null = options.attempt ?? null;
  let lastId: string | null = null;
  const open = () =>
    api.raw('GET', path, {
      signal: options.signal,
      // Resuming pins the attempt being read: `Last-Event-ID` numbers that attempt's chunks.
      query: { attempt: attempt ?? undefined, ...(options.follow ? { follow: '1' } : {}) },
      headers: {
        accept: options.follow ? 'text/event-stream' : 'text/plain',
        ...(lastId !== null ? { 'last-event-id': lastId } : {}),
      },
    });
  let res: Response | null = await open();
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await res.text();
    if (text) yield { type: 'text', text, attempt };
    return;
  }
  while (!options.signal.aborted) {
    res ??= await retrying(options.signal, open);
    if (!res.body) return;
    try {
      for await (const event of readSse(res.body)) {
        if (event.event === 'message') {
          lastId = event.id;
          yield { type: 'text', text: decodeChunk(event.data), attempt };
        } else if (event.event === 'attempt') {
          const next = (JSON.parse(event.data) as { attempt: number }).attempt;
          if (next !== attempt) lastId = null; // a new attempt's chunks are numbered from 0
          attempt = next;
          yield { type: 'attempt', attempt };
        } else if (event.event === 'end') {
          const end = JSON.parse(event.data) as { status: string; attempt: number | null };
          yield { type: 'end', status: end.status, attempt: end.attempt };
          await res.body.cancel().catch(() => {});
          return;
        } else if (event.event === 'error') {
          const e = JSON.parse(event.data) as { code?: string; message?: string };
          throw new CliError(e.message ?? 'the log stream failed', { code: e.code });
        }
      }
    } catch (err) {
      if (options.signal.aborted || !transient(err)) throw err;
    }
    res = null; // the stream ended before the log did: resume after the last chunk read
  }
}
