/**
 * `distci storage init` against the test run's real Ceph RGW, on a bucket that does not exist yet:
 * before it, a frontend starts but says which bucket is missing and its /readyz answers 503 with that
 * reason, and a worker refuses to start naming it; `storage init` creates the bucket (and again: it
 * exists), then the same frontend is ready and a build runs to success; the exec-shell worker's
 * `/metrics` (`--metrics-port`) then counts its claim and completion.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadServices, uniqueName } from '@distci/testkit';
import t from 'tap';
import { runCli, servicesEnv, spawnCli, tempDir } from './helpers/cli-process.js';

t.test('a fresh RGW: missing bucket named at start and by /readyz, then storage init, then a build', async (t) => {
  const { s3 } = loadServices();
  const dir = await tempDir(t);
  const bucket = uniqueName('fresh');
  const token = `test-${uniqueName('token')}`;
  await writeFile(join(dir, 'tokens'), `${token}\n`);
  // A bucket nobody made yet, no key prefix.
  const env = servicesEnv('init', { DISTCI_S3_BUCKET: bucket, DISTCI_S3_PREFIX: '' });
  const where = `bucket '${bucket}' at ${s3.endpoint}`;

  const frontend = spawnCli(t, ['frontend', '--port', '0', '--tokens-file', join(dir, 'tokens')], { env });
  const notReady = await frontend.waitFor(/not ready: (.*)/, 'the missing-bucket line', { stream: 'stderr' });
  t.match(notReady[1], `${where} does not exist — run \`distci storage init\``);
  const url = (
    await frontend.waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', { stream: 'stderr' })
  )[1];
  const before = await fetch(`${url}/readyz`);
  t.equal(before.status, 503, '/readyz: 503 while the bucket is missing');
  const body = (await before.json()) as { code: string; details: { objectStore: string } };
  t.equal(body.code, 'DISTCI_NOT_READY');
  t.match(body.details.objectStore, `${where} does not exist — run \`distci storage init\``);

  const worker = await runCli(t, ['worker', 'exec-shell'], { env });
  t.equal(worker.code, 1, 'a worker refuses to start without its bucket');
  t.match(worker.stderr, `DISTCI_STORAGE_NOT_INITIALISED: ${where} does not exist`);

  const init = await runCli(t, ['storage', 'init'], { env });
  t.equal(init.code, 0, 'storage init', { stderr: init.stderr });
  t.match(init.stdout, `${where}: created`);
  t.match(init.stdout, `${where}: write, read and delete work`);
  t.match(init.stdout, /zookeeper .*: chroot \/init-\w+ ready/);
  const again = await runCli(t, ['storage', 'init'], { env });
  t.equal(again.code, 0);
  t.match(again.stdout, `${where}: exists`, 'a second init creates nothing');

  t.equal((await fetch(`${url}/readyz`)).status, 200, '/readyz: 200 once the bucket exists');
  const workers = [
    spawnCli(t, ['worker', 'control'], { env }),
    spawnCli(t, ['worker', 'exec-shell', '--metrics-port', '0'], { env }),
  ];
  await Promise.all(workers.map((w) => w.waitFor(/ready: coordination zookeeper/, 'a worker', { stream: 'stderr' })));
  const [, metricsUrl] = await workers[1]!.waitFor(
    /metrics and health at (http:\/\/[\d.:]+)\/metrics/,
    'the metrics URL',
    {
      stream: 'stderr',
    },
  );
  await writeFile(
    join(dir, 'job.json'),
    JSON.stringify({
      name: 'fresh',
      steps: [{ name: 'hi', type: 'exec-shell', run: 'echo hello from a fresh bucket' }],
    }),
  );
  const api = ['--url', url!, '--token', token];
  t.equal((await runCli(t, ['job', 'push', join(dir, 'job.json'), ...api])).code, 0, 'job push');
  const run = await runCli(t, ['build', 'trigger', 'fresh', '--follow', ...api]);
  t.equal(run.code, 0, 'the build succeeds', { stdout: run.stdout, stderr: run.stderr });
  t.match(run.stdout, /hello from a fresh bucket/);
  const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
  t.match(metrics, /distci_worker_claims_total\{kind="exec-shell"\} 1/, "the worker's /metrics counts its claim");
  t.match(
    metrics,
    /distci_worker_tickets_ended_total\{kind="exec-shell",outcome="completed"\} 1/,
    'and its completion',
  );
  t.equal((await fetch(`${metricsUrl}/healthz`)).status, 200, 'and /healthz answers 200');
  for (const p of [frontend, ...workers]) p.kill('SIGTERM');
  await Promise.all([frontend, ...workers].map((p) => p.exited));
});
