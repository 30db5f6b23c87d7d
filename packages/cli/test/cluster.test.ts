/**
 * The cluster: `distci frontend` and one `distci worker` of each kind, each its own process, on the
 * real ZooKeeper (a chroot of its own) and the real Ceph RGW (a key prefix of its own) of the test run,
 * run the DAG sample job (`jobs/pipeline.json`, against a local git repository of its sources) to
 * success; then SIGTERM drains every daemon and each exits 0. And a client following a build survives
 * its frontend: SIGKILLed mid-build and replaced, the follow resumes where it was (invariant 7).
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { uniqueName } from '@distci/testkit';
import t, { type Test } from 'tap';
import { readJobFile } from '../src/commands/job.js';
import { createDemoRepos, withDemoRepository } from '../src/demo/demo-repos.js';
import { type CliProcess, repoRoot, runCli, servicesEnv, spawnCli, tempDir } from './helpers/cli-process.js';

const KINDS = ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const;

interface Cluster {
  dir: string;
  env: Record<string, string>;
  token: string;
  tokensFile: string;
}

/** A chroot and a key prefix of its own on the test run's ZooKeeper and RGW, and an API token. */
async function clusterEnv(t: Test): Promise<Cluster> {
  const dir = await tempDir(t);
  const token = `test-${uniqueName('token')}`;
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `${token}\n`);
  // The sample jobs' repositories are local dirs: this cluster allows them (the default refuses).
  const env = servicesEnv('cli', { DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true' });
  return { dir, env, token, tokensFile };
}

function startFrontendProcess(t: Test, c: Cluster, port = '0'): { process: CliProcess; url: Promise<string> } {
  const p = spawnCli(t, ['frontend', '--port', port, '--tokens-file', c.tokensFile], { env: c.env });
  const url = p
    .waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', { stream: 'stderr' })
    .then((m) => m[1]!);
  return { process: p, url };
}

/** Worker daemons of `kinds`; exec-shell steps in the sandbox (the default) unless `isolation` says `none`. */
async function startWorkerProcesses(
  t: Test,
  c: Cluster,
  kinds: readonly string[],
  isolation: 'bwrap' | 'none' = 'bwrap',
): Promise<CliProcess[]> {
  const workers = kinds.map((kind) =>
    spawnCli(t, ['worker', kind, '--grace-ms', '5000', '--isolation', isolation], {
      env: { ...c.env, DISTCI_GIT_CACHE_DIR: join(c.dir, `git-cache-${kind}`) },
    }),
  );
  await Promise.all(
    workers.map((w, i) => w.waitFor(/ready: coordination zookeeper/, `worker ${kinds[i]}`, { stream: 'stderr' })),
  );
  return workers;
}

/** A TCP port free on 127.0.0.1 now (the second frontend must take the first one's place). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('frontend + one worker of each kind, as processes on ZooKeeper and RGW, build the DAG sample', async (t) => {
  const c = await clusterEnv(t);
  const { dir, token } = c;
  const frontend = startFrontendProcess(t, c);
  const workers = await startWorkerProcesses(t, c, KINDS);
  const url = await frontend.url;

  const repos = await createDemoRepos(join(repoRoot, 'jobs', 'repos'), join(dir, 'repos'));
  const config = withDemoRepository(await readJobFile(join(repoRoot, 'jobs', 'pipeline.json')), repos);
  await writeFile(join(dir, 'pipeline.json'), JSON.stringify(config));
  const api = ['--url', url, '--token', token];
  const push = await runCli(t, ['job', 'push', join(dir, 'pipeline.json'), ...api]);
  t.equal(push.code, 0, 'job push', { stderr: push.stderr });

  const run = await runCli(t, ['build', 'trigger', 'pipeline', '--follow', ...api]);
  t.equal(run.code, 0, 'build trigger --follow exits 0: the build succeeded', {
    stdout: run.stdout,
    stderr: run.stderr,
  });
  for (const step of [
    'checkout',
    'lint',
    'test[shard=1,mode=debug]',
    'test[shard=2,mode=release]',
    'package',
    'publish',
  ]) {
    t.match(run.stdout, new RegExp(`✓ ${step.replace(/[[\]]/g, '\\$&')} success`), `${step} succeeded`);
  }
  t.match(run.stdout, /PASS shard 2 \(release\)/);
  t.match(run.stdout, /pipeline #1 success/);

  const workersView = JSON.parse((await runCli(t, ['workers', '--json', ...api])).stdout);
  t.same(workersView.workers.map((w: { kind: string }) => w.kind).sort(), [...KINDS].sort());

  for (const p of [frontend.process, ...workers]) p.kill('SIGTERM');
  const codes = await Promise.all([frontend.process, ...workers].map((p) => p.exited.then((e) => e.code)));
  t.same(codes, [0, 0, 0, 0, 0, 0], 'every daemon drains and exits 0 on SIGTERM');
});

t.test('a follow survives its frontend: SIGKILLed mid-build, another takes its place, the log goes on', async (t) => {
  const c = await clusterEnv(t);
  const port = String(await freePort());
  const first = startFrontendProcess(t, c, port);
  // Unisolated: the step blocks on a FIFO in the test's temp dir (a sandbox has a private /tmp).
  await startWorkerProcesses(t, c, ['control', 'exec-shell'], 'none');
  const url = await first.url;
  const api = ['--url', url, '--token', c.token];
  // The step prints a line, then blocks on a FIFO until the test opens it: the frontend dies while
  // the step runs and the follower is connected.
  const fifo = join(c.dir, 'gate');
  execFileSync('mkfifo', [fifo]);
  await writeFile(
    join(c.dir, 'gated.json'),
    JSON.stringify({
      name: 'gated',
      env: { GATE: fifo },
      steps: [
        { name: 'wait', type: 'exec-shell', run: 'echo before-gate\nread line < "$GATE"\necho "after-gate $line"' },
      ],
    }),
  );
  t.equal((await runCli(t, ['job', 'push', join(c.dir, 'gated.json'), ...api])).code, 0);
  const follow = spawnCli(t, ['build', 'trigger', 'gated', '--follow', ...api]);
  await follow.waitFor(/wait\s+│ before-gate/, 'the first log line');

  first.process.kill('SIGKILL');
  await first.process.exited;
  const second = startFrontendProcess(t, c, port);
  await second.url;
  await writeFile(fifo, 'opened\n');

  const { code } = await follow.exited;
  t.equal(code, 0, 'the follow ends with the build: success', { stdout: follow.stdout(), stderr: follow.stderr() });
  t.equal(follow.stdout().match(/before-gate/g)?.length, 1, 'the line before the kill is printed once');
  t.match(follow.stdout(), /wait\s+│ after-gate opened/);
  t.match(follow.stdout(), /gated #1 success/);
  second.process.kill('SIGTERM');
  t.equal((await second.process.exited).code, 0);
});
