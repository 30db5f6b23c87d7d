/**
 * The daemons' logs (issue 17): `--json` gives one pino JSON object a line with the glossary's fields,
 * and `--log-level` filters by the event's level. On the test run's ZooKeeper and RGW:
 * - a frontend (`--json`), a control worker and an exec-shell worker (`--json`, default level info)
 *   run a one-step job: the exec-shell lines of the step ticket name worker, kind, ticket, attempt,
 *   job, build and step; the control worker's name job and build, no step; the frontend's request
 *   log (stdout) has `job` and `build` on the build's routes.
 * - an exec-shell worker with `--json --log-level warn` prints no line below warn (not even its
 *   start): SIGSTOPped past its session timeout while it runs a step with `maxAttempts: 1`, it says
 *   `session-lost` (error), `abandoned` (warn) and `exhausted` (error), each with its fields.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadServices, uniqueName } from '@distci/testkit';
import t, { type Test } from 'tap';
import { type CliProcess, runCli, spawnCli, tempDir } from './helpers/cli-process.js';

const SESSION_MS = 4000;

async function clusterEnv(t: Test) {
  const { zk, s3 } = loadServices();
  const dir = await tempDir(t);
  const token = `test-${uniqueName('token')}`;
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `${token}\n`);
  const env = {
    DISTCI_ZK: `${zk.connect}/${uniqueName('logs')}`,
    DISTCI_SESSION_TIMEOUT_MS: String(SESSION_MS),
    DISTCI_S3_ENDPOINT: s3.endpoint,
    DISTCI_S3_BUCKET: s3.bucket,
    DISTCI_S3_PREFIX: `${uniqueName('logs')}/`,
    DISTCI_S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  return { dir, env, token, tokensFile };
}

type Line = Record<string, unknown>;

/** The JSON lines of a stream; fails on a line that is not JSON. */
function jsonLines(t: Test, text: string, what: string): Line[] {
  const lines = text.split('\n').filter(Boolean);
  const out: Line[] = [];
  for (const line of lines) {
    try {
      out.push(JSON.parse(line) as Line);
    } catch {
      t.fail(`${what}: a line that is not JSON: ${line}`);
    }
  }
  return out;
}

async function waitForLine(p: CliProcess, what: string, match: (l: Line) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const raw of p.stderr().split('\n')) {
      if (!raw.startsWith('{')) continue;
      const l = JSON.parse(raw) as Line;
      if (match(l)) return l;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\nstderr:\n${p.stderr().slice(-3000)}`);
}

t.test('worker and frontend JSON logs: the glossary fields, and --log-level warn', async (t) => {
  const c = await clusterEnv(t);
  const frontend = spawnCli(t, ['frontend', '--port', '0', '--tokens-file', c.tokensFile, '--json'], { env: c.env });
  const control = spawnCli(t, ['worker', 'control', '--json', '--grace-ms', '1000'], { env: c.env });
  const shell = spawnCli(t, ['worker', 'exec-shell', '--json', '--isolation', 'none', '--grace-ms', '1000'], {
    env: c.env,
  });
  const ready = await waitForLine(frontend, 'the frontend', (l) => /^frontend ready at/.test(String(l.msg)));
  const url = String(ready.msg).match(/(http:\/\/[\d.]+:\d+)/)![1]!;
  for (const [p, what] of [
    [control, 'control'],
    [shell, 'exec-shell'],
  ] as const) {
    await waitForLine(p, what, (l) => String(l.msg).startsWith('ready: coordination zookeeper'));
  }
  const api = ['--url', url, '--token', c.token];
  await writeFile(
    join(c.dir, 'logs.json'),
    JSON.stringify({ name: 'logs', steps: [{ name: 'hello', type: 'exec-shell', run: 'echo hello' }] }),
  );
  t.equal((await runCli(t, ['job', 'push', join(c.dir, 'logs.json'), ...api])).code, 0, 'job push');
  const run = await runCli(t, ['build', 'trigger', 'logs', '--follow', ...api]);
  t.equal(run.code, 0, 'the build succeeds', { stdout: run.stdout, stderr: run.stderr });
  await waitForLine(shell, 'the step completed', (l) => l.event === 'completed');

  const shellLines = jsonLines(t, shell.stderr(), 'exec-shell');
  const claimed = shellLines.find((l) => l.event === 'claimed');
  t.match(
    claimed,
    {
      level: 30,
      time: Number,
      pid: shell.pid,
      hostname: String,
      msg: 'claimed',
      worker: String,
      kind: 'exec-shell',
      ticket: /^exec-shell\//,
      attempt: 1,
      job: 'logs',
      build: 1,
      step: 'hello',
      queueWaitMs: Number,
    },
    'a step ticket line: worker, kind, ticket, attempt, job, build, step',
  );
  t.match(
    shellLines.find((l) => l.event === 'completed'),
    { level: 30, job: 'logs', build: 1, step: 'hello' },
  );
  const advance = jsonLines(t, control.stderr(), 'control').find((l) => l.event === 'completed');
  t.match(advance, { kind: 'control', job: 'logs', build: 1 }, 'a control ticket line: job and build');
  t.notOk(advance && 'step' in advance, 'and no step');

  const requests = jsonLines(t, frontend.stdout(), 'frontend requests');
  t.ok(
    requests.some((l) => l.msg === 'request completed' && l.job === 'logs' && l.build === 1),
    'a request log line of the build route names job and build',
  );
  t.ok(
    jsonLines(t, frontend.stderr(), 'frontend').every((l) => typeof l.level === 'number' && 'msg' in l),
    "the frontend's own lines are pino JSON",
  );

  // The exec-shell worker at warn takes over: the first one drains and exits.
  shell.kill('SIGTERM');
  t.equal((await shell.exited).code, 0, 'the info worker drains and exits 0');
  const quiet = spawnCli(
    t,
    ['worker', 'exec-shell', '--json', '--log-level', 'warn', '--isolation', 'none', '--grace-ms', '1000'],
    { env: c.env },
  );
  await writeFile(
    join(c.dir, 'slow.json'),
    JSON.stringify({
      name: 'slow',
      steps: [{ name: 'wait', type: 'exec-shell', run: 'sleep 60', maxAttempts: 1 }],
    }),
  );
  t.equal((await runCli(t, ['job', 'push', join(c.dir, 'slow.json'), ...api])).code, 0, 'job push');
  t.equal((await runCli(t, ['build', 'trigger', 'slow', ...api])).code, 0, 'trigger');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`${url}/api/v1/jobs/slow/builds/1`, { headers: { authorization: `Bearer ${c.token}` } });
    const body = (await res.json()) as { steps?: { status: string }[]; build?: { steps: { status: string }[] } };
    const steps = body.steps ?? body.build?.steps ?? [];
    if (steps[0]?.status === 'running') break;
    if (Date.now() > deadline) throw new Error(`the step never ran: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  quiet.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, SESSION_MS + 3000));
  quiet.kill('SIGCONT');
  const exhausted = await waitForLine(quiet, 'exhausted', (l) => l.event === 'exhausted');
  const lines = jsonLines(t, quiet.stderr(), 'exec-shell at warn');
  t.same(
    lines.filter((l) => (l.level as number) < 40),
    [],
    'no line below warn (no start, no claimed)',
  );
  const fields = { worker: String, kind: 'exec-shell', job: 'slow', build: 1, step: 'wait', ticket: /^exec-shell\// };
  t.match(
    lines.find((l) => l.event === 'session-lost'),
    { level: 50, worker: String, kind: 'exec-shell' },
    'session-lost: error',
  );
  t.match(
    lines.find((l) => l.event === 'abandoned'),
    { level: 40, attempt: 1, ...fields },
    'abandoned: warn',
  );
  t.match(exhausted, { level: 50, ...fields }, 'exhausted: error, with the ticket and its step');
  t.comment(lines.map((l) => `${l.level} ${l.event ?? ''} ${l.msg}`).join('\n'));

  for (const p of [quiet, control, frontend]) p.kill('SIGTERM');
  for (const p of [quiet, control, frontend]) t.equal((await p.exited).code, 0, 'drains and exits 0');
});
