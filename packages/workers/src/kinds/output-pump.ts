/**
 * Reads a step's stdout and stderr into its output as the bytes arrive (interleaved as received),
 * pausing both pipes while the log is behind: the script then blocks on its writes, and the worker
 * holds at most `LOG_BACKLOG_LIMIT` of its output.
 *
 * Once every process of the step is gone, the pipes close as soon as their last bytes are read. A pipe
 * still open after that is held by a process that left the step's process group (setsid): `closed`
 * gives up after a budget of *unpaused* time (time spent waiting for the log does not count, or a slow
 * object store would cut off output that is merely queued) and closes our end.
 */
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { StepOutput } from './step-output.js';

export interface OutputPump {
  /**
   * Resolves true when both pipes have closed; false when they are still open after `budgetMs` of
   * reading unpaused (they are then destroyed).
   */
  closed(budgetMs: number): Promise<boolean>;
}

export function pumpOutput(streams: readonly Readable[], out: StepOutput): OutputPump {
  let paused = false;
  let onPause: (() => void) | null = null;
  let onResume: (() => void) | null = null;
  for (const stream of streams) {
    stream.on('data', (chunk: Buffer) => {
      out.write(chunk);
      if (paused || !out.behind()) return;
      paused = true;
      for (const s of streams) s.pause();
      onPause?.();
      void out.caughtUp().then(() => {
        paused = false;
        for (const s of streams) s.resume();
        onResume?.();
      });
    });
  }
  const ended = Promise.all(streams.map((s) => finished(s).catch(() => {}))).then(() => true);

  return {
    closed(budgetMs) {
      let left = budgetMs;
      let armedAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<false>((resolve) => {
        const arm = () => {
          armedAt = performance.now();
          timer = setTimeout(() => resolve(false), left);
        };
        onPause = () => {
          clearTimeout(timer);
          left -= performance.now() - armedAt;
        };
        onResume = arm;
        if (!paused) arm();
      });
      return Promise.race([ended, gaveUp]).then((done) => {
        clearTimeout(timer);
        onPause = onResume = null;
        if (!done) for (const s of streams) s.destroy();
        return done;
      });
    },
  };
}
