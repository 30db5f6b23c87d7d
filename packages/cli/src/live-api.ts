/**
 * The live side of the API, in one place (packages/frontend/src/live):
 * - a build's events, `GET …/builds/<n>/events`: `event: build` with the full build view on every
 *   change, then `event: end` with the final view when the build is archived;
 * - a step's log, `GET …/builds/<n>/logs/<step>`: the text so far, or with `?follow=1` a stream of
 *   chunks (`data` is the chunk as a JSON string, or `{"base64": …}` for bytes that are not UTF-8), an
 *   `attempt` event when the step's attempt starts or is superseded, and `end` when the log is complete.
 * Every other module sees only `watchBuild` and `readStepLog`.
 */
import { type ApiClient, apiPath } from './api-client.js';
import type { BuildView } from './api-types.js';
import { CliError, cliError } from './cli-error.js';
import { readSse } from './sse.js';

const FINAL = new Set(['success', 'failure', 'cancelled', 'error']);

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
  while (!signal.aborted) {
    const res = await api.raw('GET', apiPath('jobs', job, 'builds', n, 'events'), {
      signal,
      headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
    });
    if (!res.body) throw cliError(`the event stream of ${job} #${n} has no body`);
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
  const query = { attempt: options.attempt, ...(options.follow ? { follow: '1' } : {}) };
  const res = await api.raw('GET', path, {
    signal: options.signal,
    query,
    headers: { accept: options.follow ? 'text/event-stream' : 'text/plain' },
  });
  if (!res.body) return;
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await res.text();
    if (text) yield { type: 'text', text, attempt: options.attempt ?? null };
    return;
  }
  let attempt: number | null = options.attempt ?? null;
  for await (const event of readSse(res.body)) {
    if (event.event === 'message') {
      yield { type: 'text', text: decodeChunk(event.data), attempt };
    } else if (event.event === 'attempt') {
      attempt = (JSON.parse(event.data) as { attempt: number }).attempt;
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
}
