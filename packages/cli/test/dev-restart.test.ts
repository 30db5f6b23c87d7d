/**
 * `distci dev` keeps its state in its data dir: SIGKILLed while a build waits in the queue, and started
 * again, it runs that build to the end. The build waits honestly: its step asks for a label that no
 * worker of the first process has (the queue says so); the second process's exec-shell worker has it
 * (`--labels`). Nothing is re-triggered: the ticket posted before the kill is the one that runs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { runCli, spawnCli, startDev, tempDir } from './helpers/cli-process.js';

t.test('a build queued before a SIGKILL runs to its end after a restart', async (t) => {
  const dataDir = await tempDir(t);
  const first = await startDev(t, dataDir);
  const client = (url: string) => ['--url', url, '--token', first.token];

  const dir = await tempDir(t);
  const job = join(dir, 'later.json');
  await writeFile(
    job,
    JSON.stringify({
      name: 'later',
      steps: [{ name: 'run', type: 'exec-shell', labels: ['restart-test'], run: 'echo "ran on $(uname -s)"' }],
    }),
  );
  t.equal((await runCli(t, ['job', 'push', job, ...client(first.url)])).code, 0);
  const trigger = await runCli(t, ['build', 'trigger', 'later', '--json', ...client(first.url)]);
  t.equal(trigger.code, 0, trigger.stderr);
  const { number } = JSON.parse(trigger.stdout);

  // The control worker posts the step's ticket after the trigger, in the transaction that creates the
  // step as `queued`: wait for that through the build's event stream, then ask the queue why it waits.
  const watcher = spawnCli(t, ['build', 'logs', 'later', String(number), '--follow', '--json', ...client(first.url)]);
  await watcher.waitFor(/"type":"step","step":\{"id":"run","status":"queued"/, 'the step to be queued');
  watcher.kill('SIGTERM');
  await watcher.exited;
  const q = JSON.parse((await runCli(t, ['queue', '--json', ...client(first.url)])).stdout);
  const queue = q.queues.find((e: { kind: string }) => e.kind === 'exec-shell');
  t.equal(queue.waiting, 1);
  t.same(queue.labels, ['restart-test']);
  t.match(queue.reason, /no live exec-shell worker has labels restart-test/);

  first.process.kill('SIGKILL');
  await first.process.exited;

  const second = await startDev(t, dataDir, ['--labels', 'restart-test']);
  t.equal(second.token, first.token, 'the token survives the restart');
  const follow = await runCli(t, ['build', 'logs', 'later', String(number), '--follow', ...client(second.url)]);
  t.equal(follow.code, 0, follow.stderr);
  t.match(follow.stdout, /run\s+│ ran on /);
  t.match(follow.stdout, new RegExp(`later #${number} success`));

  second.process.kill('SIGTERM');
  t.equal((await second.process.exited).code, 0);
});
