/**
 * Where an exec-shell step's output goes: the secret masker, then the step's log. Also writes the
 * kind's own `[distci] …` lines (through the masker, so they stay in order with held-back bytes),
 * each on a line of its own, and tells the output loop when the log is too far behind.
 */
import type { LogWriter } from '../steps/log-writer.js';
import { createSecretMasker } from './secret-masker.js';

/**
 * 16 MiB not yet stored: four of the log writer's 4 MiB chunks, so uploads go on back to back while
 * the output is paused, and a step's output costs the worker at most this much memory.
 */
export const LOG_BACKLOG_LIMIT = 16 * 1024 * 1024;

export interface StepOutput {
  write(chunk: Buffer): void;
  /** Writes `[distci] <text>` on a line of its own. */
  note(text: string): void;
  /** Whether the log is so far behind that the output should pause until `caughtUp()`. */
  behind(): boolean;
  caughtUp(): Promise<void>;
  /** Writes what the masker held back; later writes are ignored. Does not close the log. */
  end(): void;
}

export function createStepOutput(log: LogWriter, secrets: readonly string[]): StepOutput {
  const masker = createSecretMasker(secrets);
  let lastByte = 0x0a; // as if after a newline: a note at the start needs none
  let ended = false;
  const write = (chunk: Buffer) => {
    if (ended || chunk.length === 0) return;
    lastByte = chunk[chunk.length - 1]!;
    const out = masker.write(chunk);
    if (out.length) log.write(out);
  };
  return {
    write,
    note(text) {
      write(Buffer.from(`${lastByte === 0x0a ? '' : '\n'}[distci] ${text}\n`));
    },
    behind: () => (log.backlog ?? 0) > LOG_BACKLOG_LIMIT,
    caughtUp: () => log.drained?.() ?? Promise.resolve(),
    end() {
      if (ended) return;
      ended = true;
      const rest = masker.end();
      if (rest.length) log.write(rest);
    },
  };
}
