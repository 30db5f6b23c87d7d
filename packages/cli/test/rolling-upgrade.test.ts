/**
 * Rolling upgrades (issue 17): the daemons of an earlier release and of this one share a cluster. On
 * the test run's ZooKeeper and RGW (a chroot and key prefix per case), a small job (one exec-shell step,
 * no repository) runs to success with
 * 1. the earlier release's control and exec-shell workers and this release's frontend, and
 * 2. this release's workers and the earlier release's frontend.
 *
 * The promise this test keeps: **one release back**, in both directions — any mix of this release and
 * the earlier one builds, so frontends and workers can be upgraded one at a time, in any order. The
 * earlier release is `DISTCI_COMPAT_COMMIT` (default `6f49210`, the first commit whose `distci worker`
 * and `distci frontend` take today's `DISTCI_ZK` / `DISTCI_S3_*` env); it is materialised with
 * `git archive` and `npm ci --omit=dev --ignore-scripts` once under the OS temp dir
 * (`distci-compat-<sha>`, ~20 s, 210 MB) and reused by later runs. `git archive`, not a worktree: the
 * copy outlives the run (that is the cache) and so must not be registered in the repository's
 * worktree list, which other checkouts share. Without git or the registry the test is skipped, except
 * when `CI` is set: then it fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServices, uniqueName } from '@distci/testkit';
import t, { type Test } from 'tap';
import { type CliProcess, repoRoot, spawnCli } from './helpers/cli-process.js';

const COMMIT = process.env.DISTCI_COMPAT_COMMIT ?? '6f49210';

/** The earlier release's `bin/distci.js`, made once per commit; throws saying why it could not be made. */
async function earlierRelease(commit: string): Promise<string> {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${commit}^{commit}`], { cwd: repoRoot, encoding: 'utf8' })
    .trim()
    .slice(0, 12);
  const dir = join(tmpdir(), `distci-compat-${sha}`);
  const bin = join(dir, 'packages', 'cli', 'bin', 'distci.js');
  if (existsSync(join(dir, '.ready'))) return bin;
  const building = `${dir}.tmp-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  try {
    const archive = spawnSync('sh', ['-c', `git archive ${sha} | tar -x -C '${building}'`], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    if (archive.status !== 0) throw new Error(`git archive ${sha}: ${archive.stderr}`);
    // No dev dependencies (tap, playwright), no scripts (its `prepare` runs tap): the daemons need neither.
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: building,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (ci.status !== 0) throw new Error(`npm ci in the ${sha} copy failed: ${(ci.stderr ?? '').slice(-2000)}`);
    await writeFile(join(building, '.ready'), `${new Date().toISOString()}\n`);
    // Another run may have finished first: keep its copy.
    await rename(building, dir).catch(() => rm(building, { recursive: true, force: true }));
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    throw err;
  }
  return bin;
}

async function caseEnv(t: Test) {
  const { zk, s3 } = loadServices();
  const token = `test-${uniqueName('token')}`;
  const name = uniqueName('compat');
  t.comment(`chroot /${name}`);
  return {
    token,
    env: {
      DISTCI_ZK: `${zk.connect}/${name}`,
      DISTCI_SESSION_TIMEOUT_MS: '4000',
      DISTCI_S3_ENDPOINT: s3.endpoint,
      DISTCI_S3_BUCKET: s3.bucket,
      DISTCI_S3_PREFIX: `${name}/`,
      DISTCI_S3_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      DISTCI_TOKENS: token,
      // This release's exec-shell worker isolates steps by default; the earlier one knows no isolation.
      DISTCI_ISOLATION: 'none',
      DISTCI_GRACE_MS: '2000',
    },
  };
}

interface Build {
  status: string;
  steps: { id: string; status: string; worker: string | null }[];
}

/** Pushes the job, triggers a build and waits for its end through the API; resolves with the build. */
async function runJob(url: string, token: string): Promise<Build> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const job = {
    name: 'compat',
    env: { GREETING: 'hello' },
    steps: [
      { name: 'first', type: 'exec-shell', run: 'echo "$GREETING from the first step"' },
      { name: 'second', type: 'exec-shell', run: 'test "$GREETING" = hello', needs: ['first'] },
    ],
  };
  const put = await fetch(`${url}/api/v1/jobs/compat`, { method: 'PUT', headers, body: JSON.stringify(job) });
  if (!put.ok) throw new Error(`PUT job: ${put.status} ${await put.text()}`);
  const trigger = await fetch(`${url}/api/v1/jobs/compat/builds`, { method: 'POST', headers, body: '{}' });
  if (!trigger.ok) throw new Error(`trigger: ${trigger.status} ${await trigger.text()}`);
  const created = (await trigger.json()) as { number?: number; build?: { number: number } };
  const number = created.number ?? created.build?.number;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/api/v1/jobs/compat/builds/${number}`, { headers });
    const body = (await res.json()) as Build & { build?: Build };
    const build = body.build ?? body;
    if (!['queued', 'running'].includes(build.status)) return build;
    if (Date.now() > deadline) throw new Error(`build ${number} did not end: ${JSON.stringify(build)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function startFrontend(t: Test, env: Record<string, string>, bin?: string): Promise<[CliProcess, string]> {
  const p = spawnCli(t, ['frontend', '--port', '0'], { env, ...(bin ? { bin } : {}) });
  return p
    .waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', { stream: 'stderr', timeoutMs: 60_000 })
    .then((m) => [p, m[1]!]);
}

async function startWorkers(t: Test, env: Record<string, string>, bin?: string): Promise<CliProcess[]> {
  const workers = (['control', 'exec-shell'] as const).map((kind) =>
    spawnCli(t, ['worker', kind], {
      env: { ...env, DISTCI_WORKER_ID: `${bin ? 'old' : 'new'}-${kind}` },
      ...(bin ? { bin } : {}),
    }),
  );
  await Promise.all(
    workers.map((w) => w.waitFor(/ready: coordination zookeeper/, 'a worker', { stream: 'stderr', timeoutMs: 60_000 })),
  );
  return workers;
}

async function workerIds(url: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/workers`);
  if (!res.ok) throw new Error(`GET workers: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { workers: { id: string }[] }).workers.map((w) => w.id).sort();
}

async function stopAll(t: Test, processes: CliProcess[]) {
  for (const p of processes) p.kill('SIGTERM');
  for (const p of processes) {
    const { code } = await p.exited;
    t.equal(code, 0, 'drains and exits 0', { stderr: p.stderr().slice(-2000) });
  }
}

t.test(`rolling upgrade: this release and ${COMMIT} side by side`, async (t) => {
  let old: string;
  const t0 = Date.now();
  try {
    old = await earlierRelease(COMMIT);
  } catch (err) {
    if (process.env.CI) throw err;
    t.plan(0, `skipped: the earlier release could not be made: ${(err as Error).message}`);
    return;
  }
  t.comment(`earlier release ready in ${Date.now() - t0} ms: ${old}`);

  // One release's workers against the other's frontend, both ways: the build succeeds on the given
  // workers, and the frontend lists their presence.
  const cases = [
    { name: 'earlier workers, this frontend', frontendFrom: undefined, workersFrom: old, prefix: 'old' },
    { name: 'this release’s workers, the earlier frontend', frontendFrom: old, workersFrom: undefined, prefix: 'new' },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const { env, token } = await caseEnv(t);
      const [frontend, url] = await startFrontend(t, env, c.frontendFrom);
      const workers = await startWorkers(t, env, c.workersFrom);
      const build = await runJob(url, token);
      t.equal(build.status, 'success', 'the build succeeds', { build, workers: workers.map((w) => w.stderr()) });
      t.same(
        build.steps.map((s) => [s.id, s.status, s.worker]),
        [
          ['first', 'success', `${c.prefix}-exec-shell`],
          ['second', 'success', `${c.prefix}-exec-shell`],
        ],
        `the ${c.prefix} exec-shell worker ran both steps`,
      );
      t.same(
        await workerIds(url),
        [`${c.prefix}-control`, `${c.prefix}-exec-shell`],
        'the frontend lists their presence',
      );
      await stopAll(t, [...workers, frontend]);
    });
  }

  await t.test('both releases’ workers at once, this frontend', async (t) => {
    const { env, token } = await caseEnv(t);
    const [frontend, url] = await startFrontend(t, env);
    const workers = [...(await startWorkers(t, env, old)), ...(await startWorkers(t, env))];
    for (let i = 0; i < 2; i++) {
      const build = await runJob(url, token);
      t.equal(build.status, 'success', `build ${i + 1} succeeds`, { build });
      t.comment(`steps ran on ${build.steps.map((s) => s.worker).join(', ')}`);
    }
    await stopAll(t, [...workers, frontend]);
  });
  t.comment(`took ${Date.now() - t0} ms`);
});
