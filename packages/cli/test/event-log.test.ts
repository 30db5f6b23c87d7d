/**
 * The daemons' log (`event-log.ts`): the human lines are today's (tests and people read them), JSON
 * lines are pino's with the glossary's fields, and the level filters both.
 */
import { compileWorkerOptions, type WorkerEvent } from '@distci/workers';
import t from 'tap';
import { createEventLog } from '../src/event-log.js';

const worker = compileWorkerOptions({ kind: 'exec-shell', workerId: 'w1', isolation: 'none' }, {});
const at = Date.now();
const claimed: WorkerEvent = {
  type: 'claimed',
  worker: 'w1',
  at,
  ticket: 'exec-shell/_~5-1-0000000001',
  attempt: 2,
  job: 'web',
  build: 3,
  step: 'test',
};
const released: WorkerEvent = { ...claimed, type: 'released', message: 'handler failed: boom' };
const stopped: WorkerEvent = { type: 'stopped', worker: 'w1', at };

function logged(options: Parameters<typeof createEventLog>[0]) {
  const lines: string[] = [];
  const log = createEventLog({ ...options, write: (l) => lines.push(l) });
  return { log, lines, events: log.forWorker(worker) };
}

t.test('human lines: the time, then the line or the kind, type, ticket, attempt and message', async (t) => {
  const { log, lines, events } = logged({});
  log.info('ready: coordination zookeeper x');
  events(claimed);
  events(released);
  events(stopped);
  t.match(lines[0], /^\d\d:\d\d:\d\d ready: coordination zookeeper x$/);
  t.match(lines[1], /^\d\d:\d\d:\d\d exec-shell {8}claimed {3}_~5-1-0000000001 attempt 2$/);
  t.match(lines[2], /released {2}_~5-1-0000000001 attempt 2 handler failed: boom$/);
  t.equal(lines.length, 3, 'stopped is debug: not at info');
});

t.test('quiet: worker events of warn and up, and the daemon lines', async (t) => {
  const { log, lines, events } = logged({ quiet: true });
  events(claimed);
  events(released);
  log.info('stopped');
  t.equal(lines.length, 2);
  t.match(lines[0], /released/);
  t.match(lines[1], /stopped$/);
});

t.test('JSON: pino fields and the glossary fields; the level filters', async (t) => {
  const { log, lines, events } = logged({ json: true, level: 'debug' });
  events(claimed);
  events(stopped);
  log.warn('WARNING: no sandbox');
  const [c, s, w] = lines.map((l) => JSON.parse(l));
  t.match(c, {
    level: 30,
    time: Number,
    pid: process.pid,
    hostname: String,
    msg: 'claimed',
    event: 'claimed',
    worker: 'w1',
    kind: 'exec-shell',
    ticket: claimed.ticket,
    attempt: 2,
    job: 'web',
    build: 3,
    step: 'test',
  });
  t.notOk('at' in c, 'pino has the time');
  t.match(s, { level: 20, event: 'stopped', worker: 'w1' });
  t.match(w, { level: 40, msg: 'WARNING: no sandbox' });
  const warn = logged({ json: true, level: 'warn' });
  warn.events(claimed);
  warn.log.info('ready');
  warn.events(released);
  t.same(
    warn.lines.map((l) => JSON.parse(l).msg),
    ['handler failed: boom'],
    'at warn: only the release after a failure',
  );
});
