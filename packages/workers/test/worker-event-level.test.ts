/**
 * The level of each worker event (`eventLevel`, what the daemons log at) on events a real worker
 * reports: a ticket whose handler throws is released counted as lost (warn) and then exhausted (error);
 * a drained ticket is released at info; every event about a step ticket names its job, build and step.
 */
import { postTickets, type StepPayload } from '@distci/common';
import { memoryStore } from '@distci/testkit';
import t from 'tap';
import { compileLogLevel, compileWorkerOptions, createWorker, eventLevel, type WorkerEvent } from '../src/index.js';

const step = (name: string): Partial<StepPayload> => ({ job: 'web', build: 7, step: name, index: 0 });

function collect(events: WorkerEvent[], type: WorkerEvent['type'], count = 1): Promise<void> {
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (events.filter((e) => e.type === type).length >= count) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
}

t.test('a failing handler: released (warn), then exhausted (error); the events carry the payload', async (t) => {
  const store = await memoryStore(t, '/levels-fail');
  const events: WorkerEvent[] = [];
  const worker = createWorker({
    store,
    options: compileWorkerOptions({ kind: 'exec-shell', workerId: 'w-fail', isolation: 'none' }, {}),
    handler: {
      run: async () => {
        throw new Error('boom');
      },
    },
    onEvent: (e) => events.push(e),
  });
  const ctl = new AbortController();
  const running = worker.run(ctl.signal);
  await postTickets(store, [{ kind: 'exec-shell', payload: step('test'), maxAttempts: 2 }]);
  await collect(events, 'exhausted');
  ctl.abort();
  await running;
  const about = events.filter((e) => e.ticket);
  t.same(
    about.map((e) => [e.type, eventLevel(e)]),
    [
      ['claimed', 'info'],
      ['released', 'warn'],
      ['claimed', 'info'],
      ['exhausted', 'error'],
    ],
    'levels of the ticket events',
  );
  for (const e of about) t.match(e, { job: 'web', build: 7, step: 'test', worker: 'w-fail' }, `${e.type} names them`);
  t.equal(eventLevel(events.find((e) => e.type === 'stopped')!), 'debug', 'stopped is debug');
});

t.test('a drained ticket is released at info; a control payload has no step', async (t) => {
  const store = await memoryStore(t, '/levels-drain');
  const events: WorkerEvent[] = [];
  const worker = createWorker({
    store,
    options: compileWorkerOptions({ kind: 'control', workerId: 'w-drain' }, {}),
    handler: {
      run: ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    },
    onEvent: (e) => events.push(e),
  });
  const running = worker.run();
  await postTickets(store, [{ kind: 'control', payload: { op: 'advance', job: 'web', build: 8 } }]);
  await collect(events, 'claimed');
  await worker.drain(0);
  await running;
  const released = events.find((e) => e.type === 'released')!;
  t.equal(released.message, 'drained');
  t.equal(eventLevel(released), 'info', 'a drain is no failure');
  t.match(released, { job: 'web', build: 8 });
  t.notOk('step' in released, 'no step on a control ticket');
  t.equal(eventLevel({ type: 'released', message: 'conflict: NodeExists' }), 'info', 'a conflict is no failure');
});

t.test('compileLogLevel: flag, then DISTCI_LOG_LEVEL, then info; anything else refused', async (t) => {
  t.equal(compileLogLevel(undefined, {}), 'info');
  t.equal(compileLogLevel(undefined, { DISTCI_LOG_LEVEL: 'debug' }), 'debug');
  t.equal(compileLogLevel('warn', { DISTCI_LOG_LEVEL: 'debug' }), 'warn');
  t.throws(() => compileLogLevel('loud', {}), { code: 'DISTCI_BAD_OPTION' });
});
