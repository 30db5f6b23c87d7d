/**
 * What the daemons print about their workers: one line per worker event, on stderr (stdout is for the
 * command's own output, e.g. `distci dev --demo`'s build log). `--json` prints each event as a JSON
 * line instead (for log shippers and tests). `quiet` keeps only what needs attention.
 */
import type { WorkerEvent, WorkerEventListener, WorkerOptions } from '@distci/workers';
import { pc } from './output.js';

/** Events that need attention: printed even when quiet. */
const LOUD = new Set<WorkerEvent['type']>(['error', 'fenced', 'exhausted', 'session-lost', 'paused']);

export interface EventLog {
  /** A line about the process (startup, shutdown). */
  info(line: string): void;
  /** The listener for one worker's events. */
  forWorker(options: WorkerOptions): WorkerEventListener;
}

export function createEventLog(
  options: { json?: boolean; quiet?: boolean; write?: (line: string) => void } = {},
): EventLog {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const time = () => new Date().toISOString().slice(11, 19);
  return {
    info(line) {
      if (options.json) write(JSON.stringify({ at: Date.now(), message: line }));
      else write(`${pc.dim(time())} ${line}`);
    },
    forWorker(worker) {
      return (event) => {
        if (options.json) {
          write(JSON.stringify({ kind: worker.kind, ...event }));
          return;
        }
        if (options.quiet && !LOUD.has(event.type)) return;
        const type = LOUD.has(event.type) ? pc.red(event.type) : event.type;
        const parts = [pc.dim(time()), pc.bold(worker.kind.padEnd(17)), type.padEnd(9)];
        if (event.ticket) parts.push(event.ticket.slice(event.ticket.indexOf('/') + 1));
        if (event.attempt !== undefined) parts.push(pc.dim(`attempt ${event.attempt}`));
        if (event.message) parts.push(event.message);
        write(parts.join(' '));
      };
    },
  };
}
