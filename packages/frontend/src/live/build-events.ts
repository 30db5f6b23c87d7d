/**
 * The events of one build, for `GET …/builds/:n/events`: the full build view (`readBuild`) each time it
 * changes, until the build is archived.
 *
 * What is watched (coordination store, one-shot watches re-armed after they fire — `watch-set.ts`):
 * - the build node (its data: status, cancel; its deletion: the build was archived),
 * - the children of its `steps` node (a step was posted or settled) and every step node's data (a
 *   step's result is a `set` of that node),
 * - while a step is `queued`, the claim parents of the step kinds: a claim appearing is the step
 *   starting (`running` in the view comes from the claim, without any write to the build).
 * Every change re-reads the whole view; changes arriving during a read coalesce into one more read.
 * A view equal to the last one sent is not sent again. No polling: only a 30 s safety re-read in case
 * a watch was lost while the session was down.
 *
 * Event stream: `event: build` with `id: k` (1, 2, 3… per connection; a client resuming with
 * `Last-Event-ID: k` gets the current view as `k+1`), then — when the build node is gone and the
 * archived record is there — `event: end` with the final view, and the stream ends. A build already
 * finished gets just the `end` event.
 */
import { type BuildView, coerceError, type Distci } from '@distci/common';
import type { FastifyBaseLogger } from 'fastify';
import type { SseStream } from './sse.js';
import { Changes, WatchSet } from './watch-set.js';

/** 30 s: a safety re-read in case a watch was lost (it never is on a healthy session). */
const SAFETY_MS = 30_000;
/** 1 s: the wait before reading again after a store error (e.g. connection loss while reconnecting). */
const ERROR_BACKOFF_MS = 1000;

export interface BuildEventsInput {
  distci: Distci;
  job: string;
  number: number;
  stream: SseStream;
  /** The id of the last event the client has (Last-Event-ID), or null. */
  lastId: number | null;
  log: FastifyBaseLogger;
}

export async function streamBuildEvents(input: BuildEventsInput): Promise<void> {
  const { distci, job, number, stream, log } = input;
  const changes = new Changes();
  const watches = new WatchSet(distci.storage.store, changes);
  let id = input.lastId ?? 0;
  let last = '';
  try {
    while (!stream.signal.aborted) {
      let view: BuildView;
      try {
        await distci.builds.watch(watches, job, number, { claims: false });
        view = await distci.builds.read(job, number);
        if (view.live && view.steps.some((s) => s.status === 'queued')) {
          await distci.builds.watch(watches, job, number, { claims: true });
        }
      } catch (err) {
        log.warn({ err: coerceError(err), job, build: number }, 'build events: read failed; retrying');
        await changes.wait(stream.signal, ERROR_BACKOFF_MS);
        continue;
      }
      if (!view.live) {
        await stream.send({ id: ++id, event: 'end', data: JSON.stringify(view) });
        return;
      }
      const json = JSON.stringify(view);
      if (json !== last) {
        last = json;
        await stream.send({ id: ++id, event: 'build', data: json });
      }
      await changes.wait(stream.signal, SAFETY_MS);
    }
  } finally {
    watches.close();
    stream.end();
  }
}
