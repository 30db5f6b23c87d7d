/**
 * What the daemons log about themselves and their workers, through pino, on stderr (stdout is for the
 * command's own output, e.g. `distci dev --demo`'s build log; the frontend's request log).
 *
 * - `--json`: one JSON object a line, pino's fields (`level` as a number, `time` in ms, `pid`,
 *   `hostname`, `msg`) plus the glossary's for a worker event: `event` (its type), `worker`, `kind`,
 *   `ticket` (`<kind>/<ticket id>`), `attempt`, and from the ticket's payload `job`, `build`, `step`
 *   (control tickets have no step); `msg` is the event's message, else its type. The frontend's request lines (fastify's pino) use the same names.
 * - otherwise the human lines (`12:00:01 exec-shell  claimed  _~5-… attempt 1`), made from the same
 *   records. JSON is chosen by the flag, not by "stderr is not a TTY": a daemon under systemd writes
 *   to a pipe, and its journal is read by people as often as by shippers; tests and `cluster.sh` read
 *   the human lines from pipes too.
 * - `level` (`--log-level`, `DISTCI_LOG_LEVEL`) filters both: worker events are `error`, `warn`,
 *   `info` or `debug` by `eventLevel` (`@distci/workers`); the daemon's own lines are `info` (start,
 *   ready, stop) or `warn` / `error`. `quiet` (`distci dev --quiet`, `--demo`) keeps worker events of
 *   `warn` and up and the daemon's own lines.
 */
import { hostname } from 'node:os';
import { eventLevel, type LogLevel, type WorkerEventListener, type WorkerOptions } from '@distci/workers';
import { type DestinationStream, type Logger, pino } from 'pino';
import { pc } from './output.js';

export interface EventLog {
  /** A line about the process (startup, shutdown). */
  info(line: string): void;
  /** A line about the process that needs attention. */
  warn(line: string): void;
  error(line: string): void;
  /** The listener for one worker's events. */
  forWorker(options: WorkerOptions): WorkerEventListener;
}

export interface EventLogOptions {
  json?: boolean;
  quiet?: boolean;
  /** Default `info`. */
  level?: LogLevel;
  /** Where each line goes, without its newline (tests); default stderr. */
  write?: (line: string) => void;
}

/** A pino record as written (the fields this log sets). */
interface LogRecord {
  level: number;
  time: number;
  msg?: string;
  event?: string;
  kind?: string;
  ticket?: string;
  attempt?: number;
}

export function createEventLog(options: EventLogOptions = {}): EventLog {
  const level = options.level ?? 'info';
  const logger = pino({ level, base: { pid: process.pid, hostname: hostname() } }, destination(options));
  const workerLevel =
    options.quiet && pino.levels.values[level]! < pino.levels.values.warn! ? ('warn' as const) : level;
  return {
    info: (line) => logger.info(line),
    warn: (line) => logger.warn(line),
    error: (line) => logger.error(line),
    forWorker(worker) {
      const log: Logger = logger.child({ worker: worker.id, kind: worker.kind }, { level: workerLevel });
      return ({ type, worker: _id, at: _at, message, ...fields }) => {
        log[eventLevel({ type, message })]({ event: type, ...fields }, message ?? type);
      };
    },
  };
}

/**
 * Synchronous writes (pino.destination sync, or the callback): a line logged just before
 * `process.exit` (the end of a shutdown) is not lost in a buffer.
 */
function destination(options: EventLogOptions): DestinationStream {
  const write = options.write;
  if (options.json) {
    return write ? { write: (s: string) => write(s.replace(/\n$/, '')) } : pino.destination({ dest: 2, sync: true });
  }
  const out = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return { write: (s: string) => out(humanLine(JSON.parse(s) as LogRecord)) };
}

const ERROR = 50;
const WARN = 40;

/** Today's human line of a record: `HH:MM:SS <line>`, or for a worker event its kind, type, ticket, attempt. */
export function humanLine(r: LogRecord): string {
  const time = pc.dim(new Date(r.time).toISOString().slice(11, 19));
  const loud = (s: string) => (r.level >= ERROR ? pc.red(s) : r.level >= WARN ? pc.yellow(s) : s);
  if (r.event === undefined) return `${time} ${loud(r.msg ?? '')}`;
  const parts = [time, pc.bold((r.kind ?? '').padEnd(17)), loud(r.event).padEnd(9)];
  if (r.ticket) parts.push(r.ticket.slice(r.ticket.indexOf('/') + 1));
  if (r.attempt !== undefined) parts.push(pc.dim(`attempt ${r.attempt}`));
  if (r.msg && r.msg !== r.event) parts.push(r.msg);
  return parts.join(' ');
}
