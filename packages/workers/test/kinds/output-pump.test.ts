/**
 * The output pump on in-memory streams and a controllable output: it pauses both pipes while the log
 * is behind, and the close budget counts only unpaused time — a slow object store must never cut off
 * output that is merely waiting for it — while a pipe held open by an escaped process is closed.
 */
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { pumpOutput } from '../../src/kinds/output-pump.js';
import type { StepOutput } from '../../src/kinds/step-output.js';

/** An output that is "behind" until the test calls `catchUp()`. */
function fakeOutput() {
  const written: string[] = [];
  let behind = true;
  let release: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => {
    release = resolve;
  });
  const out: StepOutput = {
    write: (chunk) => void written.push(chunk.toString()),
    note: () => {},
    behind: () => behind,
    caughtUp: () => caughtUp,
    end: () => {},
  };
  return {
    out,
    written,
    catchUp() {
      behind = false;
      release();
    },
  };
}

t.test('time paused for the log does not count against the close budget', async (t) => {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const { out, written, catchUp } = fakeOutput();
  const pump = pumpOutput([stdout, stderr], out);
  const paused = new Promise((resolve) => stdout.once('pause', resolve));
  stdout.end('first ');
  await paused;
  t.ok(stdout.isPaused() && stderr.isPaused(), 'both pipes pause when the log is behind');
  stderr.end('second'); // waits in the paused pipe
  const closed = pump.closed(20);
  // The condition under test is time passing while paused: several budgets' worth.
  await delay(100);
  catchUp();
  t.equal(await closed, true, 'the pipes closed normally once the log caught up');
  t.equal(written.join(''), 'first second', 'nothing was cut off');
});

t.test('a pipe held open (an escaped process) is closed after the budget of unpaused time', async (t) => {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const { out, written, catchUp } = fakeOutput();
  catchUp();
  const pump = pumpOutput([stdout, stderr], out);
  stdout.end('done\n');
  stderr.write('still open');
  t.equal(await pump.closed(50), false);
  t.ok(stderr.destroyed, 'our end of the held pipe is closed');
  t.equal(written.sort().join('|'), 'done\n|still open');
});
