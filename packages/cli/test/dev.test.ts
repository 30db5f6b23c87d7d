/**
 * `distci dev` as a real child process (free port, temp data dir) driven by the real `distci` client
 * commands over a real socket: a followed build streams its log live and exits with the build's
 * result; `--json` output parses; bad input and an unreachable API give errors that say what to do.
 */

import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { readJobFile } from '../src/commands/job.js';
import { createDemoRepos, withDemoRepository } from '../src/demo/demo-repos.js';
import { repoRoot, runCli, spawnCli, startDev, tempDir } from './helpers/cli-process.js';

t.test('distci dev serves the API; client commands push, trigger, follow and read builds', async (t) => {
  const dataDir = await tempDir(t);
  const dev = await startDev(t, dataDir);
  const client = ['--url', dev.url, '--token', dev.token];

  // The token is made once and kept, readable by its owner only.
  const tokenFile = join(dataDir, 'token');
  t.equal((await readFile(tokenFile, 'utf8')).trim(), dev.token);
  t.equal((await stat(tokenFile)).mode & 0o777, 0o600, 'token file is 0600');

  const push = await runCli(t, ['job', 'push', join(repoRoot, 'jobs', 'hello.json'), ...client]);
  t.equal(push.code, 0, 'job push', { stderr: push.stderr });
  t.match(push.stdout, /pushed hello/);

  await t.test('build trigger --follow prints the log live and exits 0 on success', async (t) => {
    const run = await runCli(t, ['build', 'trigger', 'hello', '--follow', ...client]);
    t.equal(run.code, 0, 'exit code 0', { stdout: run.stdout, stderr: run.stderr });
    t.match(run.stdout, /greet\s+│ hello from \S+ \S+: build \d+ of hello/);
    t.match(run.stdout, /✓ greet success/);
    t.match(run.stdout, /hello #\d+ success/);
  });

  await t.test('the log arrives while the step still runs', async (t) => {
    // The step prints a line, then blocks on a request to a local server that answers only once the
    // client has printed that line: the build cannot end before the line was streamed. (A server, not
    // a FIFO: the step runs in its sandbox, which has its own /tmp; bash's /dev/tcp, as sh has none.)
    const dir = await tempDir(t);
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const gate = createServer((_req, res) => {
      void opened.then(() => res.end('opened\n'));
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => gate.close(() => resolve())));
    const { port } = gate.address() as AddressInfo;
    const request = `exec 3<>/dev/tcp/127.0.0.1/${port}; printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3; tail -n 1 <&3`;
    const job = join(dir, 'live.json');
    await writeFile(
      job,
      JSON.stringify({
        name: 'live',
        steps: [
          {
            name: 'wait',
            type: 'exec-shell',
            run: `echo before-gate\nline=$(bash -c '${request}')\necho "after-gate $line"`,
          },
        ],
      }),
    );
    t.equal((await runCli(t, ['job', 'push', job, ...client])).code, 0);
    const follow = spawnCli(t, ['build', 'trigger', 'live', '--follow', ...client]);
    const t0 = Date.now();
    await follow.waitFor(/wait\s+│ before-gate/, 'the first log line');
    t.comment(`first log line after ${Date.now() - t0} ms`);
    t.notMatch(follow.stdout(), /after-gate/, 'the step is still running');
    open();
    const { code } = await follow.exited;
    t.equal(code, 0, 'exit code 0', { stdout: follow.stdout(), stderr: follow.stderr() });
    t.match(follow.stdout(), /wait\s+│ after-gate opened/);
  });

  await t.test("the chained samples: a lib build triggers app, which copies that build's artifacts", async (t) => {
    const dir = await tempDir(t);
    const repos = await createDemoRepos(join(repoRoot, 'jobs', 'repos'), join(dir, 'repos'));
    for (const name of ['lib', 'app']) {
      const config = withDemoRepository(await readJobFile(join(repoRoot, 'jobs', `${name}.json`)), repos);
      await writeFile(join(dir, `${name}.json`), JSON.stringify(config));
    }
    const push = await runCli(t, ['job', 'push', join(dir, 'lib.json'), join(dir, 'app.json'), ...client]);
    t.equal(push.code, 0, 'job push', { stderr: push.stderr });
    const lib = await runCli(t, ['build', 'trigger', 'lib', '--follow', ...client]);
    t.equal(lib.code, 0, 'lib succeeds', { stdout: lib.stdout, stderr: lib.stderr });
    const libBuild = /lib #(\d+) success/.exec(lib.stdout)![1];
    // app #1 was triggered in the transaction that ended the lib build: it exists by now.
    const app = await runCli(t, ['build', 'logs', 'app', '1', '--follow', ...client]);
    t.equal(app.code, 0, 'app succeeds', { stdout: app.stdout, stderr: app.stderr });
    t.match(app.stdout, new RegExp(`run\\s+│ hello, app \\(lib build ${libBuild}\\)`));
    const show = JSON.parse((await runCli(t, ['build', 'show', 'app', '1', '--json', ...client])).stdout);
    t.match(show.trigger, { type: 'after', job: 'lib', build: Number(libBuild) });
  });

  await t.test('a failing build exits non-zero; its step says why', async (t) => {
    const dir = await tempDir(t);
    const job = join(dir, 'fails.json');
    await writeFile(
      job,
      JSON.stringify({
        name: 'fails',
        steps: [{ name: 'boom', type: 'exec-shell', run: 'echo about to fail; exit 3' }],
      }),
    );
    t.equal((await runCli(t, ['job', 'push', job, ...client])).code, 0);
    const run = await runCli(t, ['build', 'trigger', 'fails', '--follow', ...client]);
    t.equal(run.code, 1);
    t.match(run.stdout, /boom\s+│ about to fail/);
    t.match(run.stdout, /✗ boom failure/);
    // retry --failed: one new build runs the failed step again (and fails again here).
    const retry = await runCli(t, ['build', 'retry', 'fails', '1', '--failed', '--follow', ...client]);
    t.equal(retry.code, 1, 'the retried step fails again', { stderr: retry.stderr });
    t.match(retry.stdout, /boom\s+│ about to fail/);
    const show = JSON.parse((await runCli(t, ['build', 'show', 'fails', '2', '--json', ...client])).stdout);
    t.match(show, { trigger: { type: 'retry', of: 1, failed: true }, status: 'failure' });
  });

  await t.test('--json output parses', async (t) => {
    const list = await runCli(t, ['job', 'list', '--json', ...client]);
    t.equal(list.code, 0, 'job list', { stderr: list.stderr });
    t.ok(JSON.parse(list.stdout).jobs.some((j: { name: string }) => j.name === 'hello'));

    const run = await runCli(t, ['build', 'trigger', 'hello', '--follow', '--json', ...client]);
    t.equal(run.code, 0, 'exit code 0', { stdout: run.stdout, stderr: run.stderr });
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    t.equal(events[0].type, 'triggered');
    t.ok(events.some((e) => e.type === 'log' && /hello from/.test(e.text)));
    const end = events.at(-1);
    t.equal(end.type, 'build');
    t.equal(end.build.status, 'success');

    const show = await runCli(t, ['build', 'show', 'hello', String(end.build.number), '--json', ...client]);
    t.equal(JSON.parse(show.stdout).status, 'success');
    const builds = await runCli(t, ['build', 'list', 'hello', '--json', ...client]);
    t.ok(JSON.parse(builds.stdout).builds.length >= 2);
    const logs = await runCli(t, ['build', 'logs', 'hello', String(end.build.number), '--step', 'greet', ...client]);
    t.match(logs.stdout, /^hello from/);
    const workers = await runCli(t, ['workers', '--json', ...client]);
    const kinds = JSON.parse(workers.stdout).workers.map((w: { kind: string }) => w.kind);
    t.same([...new Set(kinds)].sort(), [
      'control',
      'copy-artifacts',
      'exec-shell',
      'git-checkout',
      'publish-artifacts',
    ]);
    const exec = JSON.parse(workers.stdout).workers.find((w: { kind: string }) => w.kind === 'exec-shell');
    t.same(exec.labels, [process.arch, process.platform].sort(), 'exec-shell has the host os and arch');
    const queue = await runCli(t, ['queue', '--json', ...client]);
    t.ok(Array.isArray(JSON.parse(queue.stdout).queues));
  });

  await t.test('why it waits: build show and --follow say what a build and a step wait for', async (t) => {
    const dir = await tempDir(t);
    const files = { gpu: join(dir, 'gpu.json'), plain: join(dir, 'plain.json') };
    // Two jobs in one group: gpu's step waits for a worker nobody runs, so plain waits for gpu #1.
    const group = { group: 'shared' };
    await writeFile(
      files.gpu,
      JSON.stringify({
        name: 'gpu',
        concurrency: group,
        steps: [{ name: 'train', type: 'exec-shell', run: 'true', labels: ['gpu'] }],
      }),
    );
    await writeFile(
      files.plain,
      JSON.stringify({
        name: 'plain',
        concurrency: group,
        steps: [{ name: 'hi', type: 'exec-shell', run: 'echo hi' }],
      }),
    );
    t.equal((await runCli(t, ['job', 'push', files.gpu, files.plain, ...client])).code, 0);
    t.equal((await runCli(t, ['build', 'trigger', 'gpu', ...client])).code, 0);
    const gpuFollow = spawnCli(t, ['build', 'logs', 'gpu', '1', '--follow', ...client]);
    await gpuFollow.waitFor(
      /· train queued \(waiting: no live exec-shell worker has labels gpu\)/,
      'gpu #1 to say why train waits',
    );
    const gpuShow = await runCli(t, ['build', 'show', 'gpu', '1', ...client]);
    t.match(gpuShow.stdout, /train\s.*queued.*waiting: no live exec-shell worker has labels gpu/);

    t.equal((await runCli(t, ['build', 'trigger', 'plain', ...client])).code, 0);
    const follow = spawnCli(t, ['build', 'logs', 'plain', '1', '--follow', ...client]);
    await follow.waitFor(/⧗ waiting for gpu #1 of group 'shared'/, 'plain #1 to say it waits for gpu #1');
    const show = await runCli(t, ['build', 'show', 'plain', '1', ...client]);
    t.match(show.stdout, /plain #1 queued.*\n⧗ waiting for gpu #1 of group 'shared'/);

    t.equal((await runCli(t, ['build', 'cancel', 'gpu', '1', ...client])).code, 0);
    t.equal((await gpuFollow.exited).code, 1, 'gpu #1 ends cancelled');
    t.equal((await follow.exited).code, 0, 'then plain #1 runs and succeeds', { stdout: follow.stdout() });
    t.match(follow.stdout(), /hi\s+│ hi/);
  });

  await t.test('errors say what to do', async (t) => {
    const missing = await runCli(t, ['build', 'trigger', 'no-such-job', ...client]);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /DISTCI_JOB_NOT_FOUND: .*no-such-job/);

    const dir = await tempDir(t);
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ name: 'bad', steps: [{ name: 'x', type: 'exec-shell', needs: ['nope'], run: 'true' }] }),
    );
    const invalid = await runCli(t, ['job', 'push', bad, ...client]);
    t.equal(invalid.code, 1);
    t.match(invalid.stderr, /DISTCI_INVALID_JOB/);
    t.match(invalid.stderr, /steps\[0\]\.needs: no step named 'nope'/);

    const noToken = await runCli(t, ['build', 'trigger', 'hello', '--url', dev.url], { cwd: dir });
    t.equal(noToken.code, 1);
    t.match(noToken.stderr, /DISTCI_UNAUTHORIZED: .*--token or set DISTCI_TOKEN/);
  });

  // SIGTERM drains and exits cleanly.
  dev.process.kill('SIGTERM');
  const { code } = await dev.process.exited;
  t.equal(code, 0, 'distci dev drains and exits 0 on SIGTERM', { stderr: dev.process.stderr() });
});

t.test('an unreachable API: the error names the URL and says to start distci dev', async (t) => {
  const dir = await tempDir(t);
  // A port nothing listens on: the one a just-closed server had.
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const run = await runCli(t, ['job', 'list', '--url', `http://127.0.0.1:${port}`], { cwd: dir });
  t.equal(run.code, 3);
  t.match(run.stderr, new RegExp(`cannot reach http://127.0.0.1:${port} .*is \`distci dev\` running\\?`));
});
