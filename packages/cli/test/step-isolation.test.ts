/**
 * Steps cannot see their worker (issue 12), on real processes: `distci dev` (a frontend and a worker
 * of every kind, with its API token in its data dir) is started with a canary in its environment; a
 * build's step then looks for the canary and the token everywhere it can (`/proc/<pid>/environ` and
 * `cmdline` of every process it sees, the data dir) and finds neither. Then a worker SIGKILLed
 * mid-step leaves no process of that step behind (its `sleep`s are found on the host by a marker in
 * their command line, as their pids inside the sandbox differ).
 *
 * `DISTCI_TEST_ISOLATION=none npx tap packages/cli/test/step-isolation.test.ts` runs the same tests
 * without the sandbox: both fail (the step reads the canary and the token; the sleeps run on).
 */
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pidsWithMarker, waitFor } from '@distci/testkit';
import t, { type Test } from 'tap';
import { runCli, spawnCli, tempDir } from './helpers/cli-process.js';

const isolation = process.env.DISTCI_TEST_ISOLATION ?? 'bwrap';

/** `distci dev` with `env` on a free port; resolves with its URL and token once it is ready. */
async function dev(t: Test, env: Record<string, string> = {}) {
  const dataDir = await tempDir(t);
  const p = spawnCli(t, ['dev', '--port', '0', '--data-dir', dataDir, '--isolation', isolation], { env });
  const [, url] = await p.waitFor(/dashboard and API\s+(http:\/\/\S+)/, 'the URL of distci dev');
  const [, token] = await p.waitFor(/token\s+(\S+)/, 'the token of distci dev');
  return { process: p, dataDir, client: ['--url', url!, '--token', token!], token: token! };
}

async function pushJob(t: Test, client: string[], job: object) {
  const file = join(await tempDir(t), 'job.json');
  await writeFile(file, JSON.stringify(job));
  const push = await runCli(t, ['job', 'push', file, ...client]);
  t.equal(push.code, 0, 'job push', { stderr: push.stderr });
}

t.test('a step finds neither the canary of its worker nor its token, in /proc or the data dir', async (t) => {
  const canary = `canary${randomInt(1e9, 9e9)}`;
  const d = await dev(t, { DISTCI_CANARY: canary });
  // The step rebuilds what it looks for from halves: whole on a command line or in its environment,
  // grep would find it in /proc by itself.
  const half = (s: string) => [s.slice(0, 6), s.slice(6)];
  const [c1, c2] = half(canary);
  const [k1, k2] = half(d.token);
  await pushJob(t, d.client, {
    name: 'peek',
    env: { C1: c1, C2: c2, K1: k1, K2: k2, DATA: d.dataDir },
    steps: [
      {
        name: 'peek',
        type: 'exec-shell',
        run: [
          'printf "%s%s\\n%s%s\\n" "$C1" "$C2" "$K1" "$K2" > patterns',
          'n=$({ cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline; } 2>/dev/null | tr "\\0" "\\n" | grep -c -F -f patterns || true)',
          'echo "proc-hits=$n"',
          'echo "procs=$(ls -d /proc/[0-9]* | wc -l)"',
          'n=$(grep -r -s -c -F -f patterns "$DATA" 2>/dev/null | grep -vc ":0$" || true)',
          'echo "data-dir-hits=$n"',
          'test -r "$DATA/token" && echo token-file=readable || echo token-file=hidden',
        ].join('\n'),
      },
    ],
  });
  const run = await runCli(t, ['build', 'trigger', 'peek', '--follow', ...d.client]);
  t.equal(run.code, 0, 'the build succeeds', { stdout: run.stdout, stderr: run.stderr });
  t.match(run.stdout, /proc-hits=0\n/, 'no process the step sees has the canary or the token');
  t.match(run.stdout, /data-dir-hits=0\n/, 'no file of the data dir the step sees holds them');
  t.match(run.stdout, /token-file=hidden\n/, "the worker's token file is out of reach");
  t.notMatch(run.stdout, new RegExp(canary), 'the canary is not in the log');
  t.comment(/procs=\d+/.exec(run.stdout)?.[0] ?? '');
});

t.test('a worker SIGKILLed mid-step leaves no process of the step behind', async (t) => {
  const marker = `${randomInt(100000, 999999)}.${randomInt(100000, 999999)}`;
  t.teardown(() => {
    for (const pid of pidsWithMarker(marker)) process.kill(pid, 'SIGKILL');
  });
  const d = await dev(t);
  await pushJob(t, d.client, {
    name: 'sleepy',
    steps: [
      {
        name: 'sleep',
        type: 'exec-shell',
        run: `sleep ${marker} &\n( sleep ${marker} & wait ) &\nsetsid sleep ${marker} &\necho started\nwait`,
      },
    ],
  });
  const follow = spawnCli(t, ['build', 'trigger', 'sleepy', '--follow', ...d.client]);
  await follow.waitFor(/sleep\s+│ started/, 'the step to start its sleeps');
  // `touch ready` may run before the subshell's sleep has started (a busy machine): wait for all three.
  await waitFor('three sleeps', () => pidsWithMarker(marker).length === 3, 10_000);
  t.equal(pidsWithMarker(marker).length, 3, 'the step runs three sleeps');
  d.process.kill('SIGKILL');
  await d.process.exited;
  // No event says when another process's children are gone: poll /proc, 5 s at most (the kernel ends
  // a sandbox within milliseconds of its worker's death).
  const until = Date.now() + 5000;
  while (pidsWithMarker(marker).length > 0 && Date.now() < until) await delay(50);
  t.same(pidsWithMarker(marker), [], 'no sleep of the step survives its worker');
});

t.test('without bubblewrap: a cluster worker refuses to start, distci dev warns once and runs', async (t) => {
  // A PATH without bwrap (node is started by its absolute path).
  const env = { PATH: await tempDir(t) };
  const worker = await runCli(t, ['worker', 'exec-shell', '--data-dir', await tempDir(t)], { env });
  t.not(worker.code, 0, 'the worker exits with an error');
  t.match(worker.stderr, /DISTCI_NO_SANDBOX/);
  t.match(worker.stderr, /bwrap is not installed/);
  t.match(worker.stderr, /--isolation none/, 'the error says how to run anyway');

  const none = spawnCli(t, ['worker', 'exec-shell', '--data-dir', await tempDir(t), '--isolation', 'none'], { env });
  await none.waitFor(/steps isolated: none/, 'the unisolated worker to start', { stream: 'stderr' });
  none.kill('SIGTERM');
  t.equal((await none.exited).code, 0, 'with --isolation none it runs');

  const dataDir = await tempDir(t);
  const devProcess = spawnCli(t, ['dev', '--port', '0', '--data-dir', dataDir], { env });
  await devProcess.waitFor(/dashboard and API/, 'distci dev to start');
  t.equal(devProcess.stderr().match(/steps are NOT isolated/g)?.length, 1, 'distci dev says it once');
  devProcess.kill('SIGTERM');
  await devProcess.exited;
});
