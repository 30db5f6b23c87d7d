/**
 * The cluster: `distci frontend` and one `distci worker` of each kind, each its own process, on the
 * real ZooKeeper (a chroot of its own) and the real Ceph RGW (a bucket of its own) of the test run,
 * run the DAG sample job (`jobs/pipeline.json`, against a local git repository of its sources) to
 * success; then SIGTERM drains every daemon and each exits 0.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { loadServices, uniqueName } from '../../common/test/harness/services.js';
import { readJobFile } from '../src/commands/job.js';
import { createDemoRepos, withDemoRepository } from '../src/demo/demo-repos.js';
import { type CliProcess, repoRoot, runCli, spawnCli, tempDir } from './helpers/cli-process.js';

const KINDS = ['control', 'git-checkout', 'exec-shell', 'publish-artifacts', 'copy-artifacts'] as const;

t.test('frontend + one worker of each kind, as processes on ZooKeeper and RGW, build the DAG sample', async (t) => {
  const { zk, s3 } = loadServices();
  const bucket = uniqueName('cli').toLowerCase();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();

  const dir = await tempDir(t);
  const token = `test-${uniqueName('token')}`;
  await writeFile(join(dir, 'tokens'), `${token}\n`);
  const env = {
    DISTCI_ZK: `${zk.connect}/${uniqueName('cli')}`,
    DISTCI_SESSION_TIMEOUT_MS: '4000',
    DISTCI_S3_ENDPOINT: s3.endpoint,
    DISTCI_S3_BUCKET: bucket,
    DISTCI_S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };

  const frontend = spawnCli(t, ['frontend', '--port', '0', '--tokens-file', join(dir, 'tokens')], { env });
  const workers: CliProcess[] = KINDS.map((kind) =>
    spawnCli(t, ['worker', kind, '--grace-ms', '5000'], {
      env: { ...env, DISTCI_GIT_CACHE_DIR: join(dir, `git-cache-${kind}`) },
    }),
  );
  const [, url] = await frontend.waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', {
    stream: 'stderr',
  });
  await Promise.all(
    workers.map((w, i) => w.waitFor(/ready: coordination zookeeper/, `worker ${KINDS[i]}`, { stream: 'stderr' })),
  );

  const repos = await createDemoRepos(join(repoRoot, 'jobs', 'repos'), join(dir, 'repos'));
  const config = withDemoRepository(await readJobFile(join(repoRoot, 'jobs', 'pipeline.json')), repos);
  await writeFile(join(dir, 'pipeline.json'), JSON.stringify(config));
  const api = ['--url', url!, '--token', token];
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

  for (const p of [frontend, ...workers]) p.kill('SIGTERM');
  const codes = await Promise.all([frontend, ...workers].map((p) => p.exited.then((e) => e.code)));
  t.same(codes, [0, 0, 0, 0, 0, 0], 'every daemon drains and exits 0 on SIGTERM');
});
