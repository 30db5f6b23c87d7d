/**
 * The production install, as the Dockerfile and deploy/README.md do it (no Docker engine here): the
 * repository's files copied to a clean directory, `npm ci --omit=dev`, then `distci --help`, a frontend
 * and a worker started from that copy against the test run's ZooKeeper and Ceph RGW. It failed before:
 * the root `prepare` script ran `tap build` and tap is a dev dependency (exit 127).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { uniqueName } from '@distci/testkit';
import t from 'tap';
import { repoRoot, runCli, servicesEnv, spawnCli, tempDir } from './helpers/cli-process.js';

t.test('npm ci --omit=dev in a clean copy runs distci --help, a frontend and a worker', async (t) => {
  const dir = await tempDir(t, 'distci-install-');
  const app = join(dir, 'app');
  // What `COPY . .` takes: the files git tracks or would track (the working tree's, uncommitted included).
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    await mkdir(dirname(join(app, f)), { recursive: true });
    await cp(join(repoRoot, f), join(app, f)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted in the working tree, not yet in the index
    });
  }
  // --prefer-offline: the packages are in npm's cache after the repository's own `npm ci`.
  const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  t.equal(install.status, 0, 'npm ci --omit=dev succeeds', { stderr: install.stderr.slice(-3000) });
  if (install.status !== 0) return;
  const bin = join(app, 'packages', 'cli', 'bin', 'distci.js');
  t.notOk(
    spawnSync('node', ['-e', "require.resolve('tap/package.json')"], { cwd: app }).status === 0,
    'no dev dependency was installed (tap)',
  );

  const help = await runCli(t, ['--help'], { bin, cwd: app });
  t.equal(help.code, 0, 'distci --help');
  t.match(help.stdout, /Usage: distci/);
  t.equal(help.stderr, '', 'nothing on stderr: no third-party warning block');

  const token = `test-${uniqueName('token')}`;
  await writeFile(join(dir, 'tokens'), `${token}\n`);
  const env = servicesEnv('install');
  const frontend = spawnCli(t, ['frontend', '--port', '0', '--tokens-file', join(dir, 'tokens')], {
    env,
    bin,
    cwd: app,
  });
  const worker = spawnCli(t, ['worker', 'exec-shell'], { env, bin, cwd: app });
  const [, url] = await frontend.waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', {
    stream: 'stderr',
    timeoutMs: 60_000,
  });
  await worker.waitFor(/ready: coordination zookeeper/, 'the worker', { stream: 'stderr', timeoutMs: 60_000 });
  t.equal((await fetch(`${url}/readyz`)).status, 200, 'the frontend is ready');
  const workers = (await (await fetch(`${url}/api/v1/workers`)).json()) as { workers: { kind: string }[] };
  t.same(
    workers.workers.map((w) => w.kind),
    ['exec-shell'],
    'the worker is live',
  );
  for (const p of [frontend, worker]) p.kill('SIGTERM');
  const codes = await Promise.all([frontend, worker].map((p) => p.exited.then((e) => e.code)));
  t.same(codes, [0, 0], 'both drain and exit 0');
  t.notMatch(frontend.stderr() + worker.stderr(), /NodeVersionSupportWarning/, 'no AWS SDK warning block');
});
