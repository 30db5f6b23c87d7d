/**
 * Params and secrets end to end, as a user runs them: `distci frontend`, a control and an exec-shell
 * worker, each its own process, on the real ZooKeeper and Ceph RGW of the test run, sharing one secrets
 * key file; the CLI sets a secret from stdin and triggers builds with params.
 * - A declared param reaches the step; an undeclared one and a value outside the choices are refused;
 *   `PATH` as a param name is refused when the job is pushed.
 * - The step sends the secret to a local HTTP server (`curl -H "Authorization: Bearer $TOKEN"`), which
 *   receives the right value, while the log shows `***` for it, for its base64 form, and when it is
 *   printed one byte at a time.
 * - No API answer, no log, no build record, no object in the store (every key, read raw) and no znode
 *   holds the value or its base64 form.
 * - A build of a pull request from a fork (a signed webhook) runs without the secret.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { compileStorageOptions, listAll, readBlob } from '@distci/common';
import { signPayload } from '@distci/frontend';
import { openStorage } from '@distci/storage';
import { dumpTree, uniqueName } from '@distci/testkit';
import t from 'tap';
import { runCli, servicesEnv, spawnCli, tempDir } from './helpers/cli-process.js';

const GITHUB_SECRET = 'webhook-secret-for-the-test';

t.test('params and secrets reach the step; the secret is masked and stored nowhere in clear', async (t) => {
  const dir = await tempDir(t);
  const adminToken = `test-${uniqueName('token')}`;
  await writeFile(join(dir, 'tokens'), `${adminToken}\n`);
  const keyFile = join(dir, 'secrets.key');
  await writeFile(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const env = servicesEnv('sec', { DISTCI_SECRETS_KEY_FILE: keyFile, DISTCI_GITHUB_SECRET: GITHUB_SECRET });

  // The service the step calls with the secret: it records the Authorization header of each request.
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(String(req.headers.authorization ?? ''));
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const serverUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const frontend = spawnCli(t, ['frontend', '--port', '0', '--tokens-file', join(dir, 'tokens')], { env });
  const workers = ['control', 'exec-shell'].map((kind) => spawnCli(t, ['worker', kind], { env }));
  const [, url] = await frontend.waitFor(/frontend ready at (http:\/\/[\d.]+:\d+)/, 'the frontend', {
    stream: 'stderr',
  });
  await Promise.all(workers.map((w) => w.waitFor(/ready: coordination zookeeper/, 'a worker', { stream: 'stderr' })));
  const api = ['--url', url!, '--token', adminToken];

  const VALUE = `tok-${randomBytes(16).toString('hex')}`; // 36 bytes: base64 without padding
  const B64 = Buffer.from(VALUE).toString('base64');
  const set = await runCli(t, ['secret', 'set', 'TOKEN', ...api], { env: {}, input: `${VALUE}\n` });
  t.equal(set.code, 0, 'secret set from stdin', { stderr: set.stderr });

  // PATH as a param name is refused when the job is pushed.
  await writeFile(
    join(dir, 'bad.json'),
    JSON.stringify({ name: 'bad', params: { PATH: {} }, steps: [{ name: 's', type: 'exec-shell', run: 'true' }] }),
  );
  const bad = await runCli(t, ['job', 'push', join(dir, 'bad.json'), ...api]);
  t.equal(bad.code, 1, 'a job declaring PATH is refused');
  t.match(bad.stderr, /DISTCI_INVALID_JOB.*params\.PATH/s);

  // Shell syntax, not template placeholders:
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell variables
  const script = [
    'echo "target=$TARGET"',
    'if [ -n "$TOKEN" ]; then curl -sf -H "Authorization: Bearer $TOKEN" "$SERVER/deploy"; fi',
    'echo "plain=$TOKEN"',
    'echo "b64=$(printf %s "$TOKEN" | base64 -w0)"',
    // One byte per process, so one write per byte: the masker must see across writes.
    'printf "bytes="; i=1; while [ $i -le ${#TOKEN} ]; do printf %s "$(printf %s "$TOKEN" | cut -c$i)"; i=$((i+1)); done; echo',
    'echo "fork=[${TOKEN:-none}]"',
  ].join('\n');
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell variables
  await writeFile(
    join(dir, 'deploy.json'),
    JSON.stringify({
      name: 'deploy',
      repository: { url: 'https://github.com/acme/app' },
      triggers: { github: { events: ['pull_request'] } },
      env: { SERVER: serverUrl },
      params: { TARGET: { default: 'staging', description: 'where to', choices: ['staging', 'prod'] } },
      secrets: ['TOKEN'],
      steps: [{ name: 'ship', type: 'exec-shell', run: script }],
    }),
  );
  const push = await runCli(t, ['job', 'push', join(dir, 'deploy.json'), ...api]);
  t.equal(push.code, 0, 'job push', { stderr: push.stderr });

  const undeclared = await runCli(t, ['build', 'trigger', 'deploy', '--param', 'NOPE=1', ...api]);
  t.equal(undeclared.code, 1, 'an undeclared param is refused');
  t.match(
    undeclared.stderr,
    /DISTCI_INVALID_PARAMS: params\.NOPE: job 'deploy' declares no param 'NOPE'; params are: TARGET/,
  );
  const outside = await runCli(t, ['build', 'trigger', 'deploy', '--param', 'TARGET=qa', ...api]);
  t.equal(outside.code, 1);
  t.match(outside.stderr, /params\.TARGET: 'qa' is not allowed; choices are: staging, prod/);

  const run = await runCli(t, ['build', 'trigger', 'deploy', '--param', 'TARGET=prod', '--follow', ...api]);
  t.equal(run.code, 0, 'the build succeeds', { stdout: run.stdout, stderr: run.stderr });
  t.match(run.stdout, /target=prod/, 'the declared param reaches the step');
  t.same(received, [`Bearer ${VALUE}`], 'the local server received the secret');
  t.match(run.stdout, /plain=\*\*\*/);
  t.match(run.stdout, /b64=\*\*\*/);
  t.match(run.stdout, /bytes=\*\*\*/);
  t.notOk(run.stdout.includes(VALUE) || run.stdout.includes(B64), 'the followed log holds no form of the value');

  const show = await runCli(t, ['build', 'show', 'deploy', '1', ...api]);
  t.match(show.stdout, /params TARGET=prod/, 'build show lists the params');

  // A pull request from a fork: a signed webhook; the build runs without the secret.
  const payload = JSON.stringify({
    action: 'opened',
    number: 7,
    repository: { clone_url: 'https://github.com/acme/app.git' },
    sender: { login: 'stranger' },
    pull_request: {
      number: 7,
      head: { sha: 'a'.repeat(40), ref: 'topic', repo: { full_name: 'stranger/app' } },
      base: { ref: 'main', repo: { full_name: 'acme/app' } },
    },
  });
  const hook = await fetch(`${url}/api/v1/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signPayload(GITHUB_SECRET, payload),
    },
    body: payload,
  });
  t.equal(hook.status, 200, 'the webhook is accepted', { body: await hook.text() });
  const fork = await runCli(t, ['build', 'logs', 'deploy', '2', '--follow', ...api]);
  t.equal(fork.code, 0, 'the fork build succeeds', { stdout: fork.stdout, stderr: fork.stderr });
  t.match(fork.stdout, /secrets TOKEN are not given to this step: the build is of a pull request from a fork/);
  t.match(fork.stdout, /fork=\[none\]/, 'the fork build has no secret');
  t.equal(received.length, 1, 'the fork build never called the server with a token');

  // Nowhere in clear: API answers, logs, build records, every object (raw), every znode.
  const forms = [VALUE, B64];
  const holds = (text: string | Buffer) => forms.some((f) => text.includes(f));
  const answers = [
    ['GET', '/api/v1/jobs/deploy'],
    ['GET', '/api/v1/jobs/deploy/builds'],
    ['GET', '/api/v1/jobs/deploy/builds/1'],
    ['GET', '/api/v1/jobs/deploy/builds/1/logs/ship'],
    ['GET', '/api/v1/secrets'],
    ['GET', '/api/v1/tokens'],
    ['GET', '/api/v1/queue'],
    ['GET', '/api/v1/workers'],
  ];
  for (const [method, path] of answers) {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
    const body = await res.text();
    t.ok(res.status < 500, `${path} answers`);
    t.notOk(holds(body), `${path} holds no form of the secret`);
  }
  const storage = await openStorage(compileStorageOptions({}, env));
  t.teardown(() => storage.close());
  let objects = 0;
  for await (const info of listAll(storage.blob)) {
    objects++;
    const raw = await readBlob(storage.blob, info.key);
    if (holds(raw) || holds(info.key)) t.fail(`${info.key} holds the secret`);
  }
  t.ok(objects > 5, `every object read raw (${objects}), none holds the secret`);
  const store = await storage.connect();
  const tree = await dumpTree(store, '/');
  const znodes = Object.entries(tree).map(([path, n]) => `${path}\n${Buffer.from(n.data, 'base64').toString()}`);
  t.notOk(holds(znodes.join('\n')), `no znode holds the secret (${znodes.length} nodes)`);
  await store.close();

  for (const p of [frontend, ...workers]) p.kill('SIGTERM');
  await Promise.all([frontend, ...workers].map((p) => p.exited));
});
