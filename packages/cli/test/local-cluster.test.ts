/**
 * `deploy/local/cluster.sh` (issue 17: a cluster on one machine without Docker), end to end, as root:
 * `up` (3 ZooKeeper servers, Ceph RGW, 2 frontends behind HAProxy, workers of every kind, each in a
 * network namespace of its own), the DAG sample job (`jobs/pipeline.json`, on a local git repository)
 * built to success through the balancer's one port, both frontends answering behind it, `status`; then
 * `down` leaves no process, namespace, veth or bridge, and says so again when run twice. A second `up`
 * that fails (the balancer's port taken) stops what it started by itself, and `down` after it is safe.
 *
 * Not root (network namespaces): skipped on a workstation, a failure in CI (`CI` set). Debian packages
 * the script needs are installed by it when missing (as root). The test uses its own prefix and subnet
 * (`dct`, 10.79.1.0/24), so a cluster started with the defaults (`dcl`, 10.79.0.0/24) and the chaos
 * suite (`dch`, 10.78.0.0/24) are left alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@distci/testkit';
import t, { type Test } from 'tap';
import { readJobFile } from '../src/commands/job.js';
import { createDemoRepos, withDemoRepository } from '../src/demo/demo-repos.js';
import { cliEnv, repoRoot, runCli } from './helpers/cli-process.js';

const SCRIPT = join(repoRoot, 'deploy', 'local', 'cluster.sh');
const PREFIX = 'dct';
const SUBNET = '10.79.1';
/** A deadline per script run: `up` takes ≈15 s on an idle 2-core machine (each wait inside has 60 s). */
const UP_DEADLINE_MS = 150_000;
const DOWN_DEADLINE_MS = 60_000;
const NAMES = [
  'zk1',
  'zk2',
  'zk3',
  'ceph-mon',
  'ceph-osd',
  'radosgw',
  'fe1',
  'fe2',
  'ctl1',
  'git1',
  'sh1',
  'sh2',
  'pub1',
  'copy1',
  'balancer',
];

function cannotRun(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'must run as root (network namespaces)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch {
    return '`ip netns` does not work here (apt-get install -y iproute2)';
  }
  return null;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `cluster.sh ARGS` to its end (SIGTERM to bash alone at the deadline: its trap stops what it started). */
function script(args: string[], env: Record<string, string>, deadlineMs: number): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`cluster.sh ${args.join(' ')}: no end after ${deadlineMs} ms\n${stdout}\n${stderr}`));
    }, deadlineMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The processes file: name → pid and start time (/proc/PID/stat field 22), as the script recorded them. */
function recorded(file: string): Map<string, { pid: number; start: string }> {
  const out = new Map<string, { pid: number; start: string }>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [name, , , pid, start] = line.split('\t');
    out.set(name!, { pid: Number(pid), start: start! });
  }
  return out;
}

/** The process is there, not a zombie, and is the one recorded (same start time). */
function stillRunning({ pid, start }: { pid: number; start: string }): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] !== 'Z' && fields[19] === start;
}

/** What the script may leave behind: namespaces, veths and the bridge with its prefix. */
function leftovers(): string[] {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}-`));
  return [...namespaces.map((n) => `namespace ${n}`), ...links.map((l) => `link ${l}`)];
}

/** GET on a new TCP connection each time (no keep-alive: the balancer picks a frontend per connection). */
function getOnce(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: false, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          body += s;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

function checkClean(t: Test, processes: Map<string, { pid: number; start: string }>, when: string): void {
  const running = [...processes].filter(([, p]) => stillRunning(p)).map(([name, p]) => `${name} (pid ${p.pid})`);
  t.same(running, [], `${when}: no process the script started is alive`);
  t.same(leftovers(), [], `${when}: no namespace ${PREFIX}-*, veth ${PREFIX}-v* or bridge ${PREFIX}-br0 is left`);
}

const reason = cannotRun();
if (reason) {
  if (process.env.CI) t.fail(`deploy/local/cluster.sh cannot be tested here: ${reason}`);
  else t.plan(0, reason);
} else {
  t.test('cluster.sh up, the DAG sample through the balancer, status, down', { timeout: 420_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'distci-local-cluster-'));
    const port = await freePort();
    const env = {
      DISTCI_CLUSTER_DIR: join(dir, 'cluster'),
      DISTCI_CLUSTER_PORT: String(port),
      DISTCI_CLUSTER_PREFIX: PREFIX,
      DISTCI_CLUSTER_SUBNET: SUBNET,
      DISTCI_CLUSTER_WAIT_S: '60',
      // The sample builds from a local git repository: refused unless the cluster allows them.
      DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true',
    };
    const processesFile = join(env.DISTCI_CLUSTER_DIR, 'processes');
    t.teardown(async () => {
      // Whatever happened above: nothing of the cluster outlives the test (down first, then its files).
      await script(['down'], env, DOWN_DEADLINE_MS).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    });
    t.same(leftovers(), [], `nothing of prefix ${PREFIX} exists before the test`);

    const up = await script(['up'], env, UP_DEADLINE_MS);
    t.equal(up.code, 0, 'up exits 0', { stdout: up.stdout, stderr: up.stderr });
    if (up.code !== 0) return;
    t.comment(`up took ${up.ms} ms: ${up.stderr.replace(/cluster\.sh: /g, '').replace(/\n/g, '; ')}`);
    const url = /URL\s+(http:\/\/\S+)/.exec(up.stdout)?.[1];
    t.equal(url, `http://127.0.0.1:${port}`, 'up prints the balancer URL');
    const tokenFile = /token file\s+(\S+)/.exec(up.stdout)?.[1];
    t.equal(tokenFile, join(env.DISTCI_CLUSTER_DIR, 'token'), 'up prints the token file');
    t.match(up.stdout, /export DISTCI_URL=\S+ DISTCI_TOKEN=/, 'up says how to run distci against it');
    const token = (await readFile(tokenFile!, 'utf8')).trim();
    const processes = recorded(processesFile);
    t.same([...processes.keys()], NAMES, 'every process is recorded');

    const again = await script(['up'], env, UP_DEADLINE_MS);
    t.not(again.code, 0, 'a second up refuses');
    t.match(again.stderr, /already up/);
    t.ok([...processes.values()].every(stillRunning), 'and leaves the running cluster alone');

    // The DAG sample, on a local git repository of its sources, through the balancer's port.
    const repos = await createDemoRepos(join(repoRoot, 'jobs', 'repos'), join(dir, 'repos'));
    const config = withDemoRepository(await readJobFile(join(repoRoot, 'jobs', 'pipeline.json')), repos);
    await writeFile(join(dir, 'pipeline.json'), JSON.stringify(config));
    const api = ['--url', url!, '--token', token];
    const push = await runCli(t, ['job', 'push', join(dir, 'pipeline.json'), ...api]);
    t.equal(push.code, 0, 'job push through the balancer', { stderr: push.stderr });
    const t0 = Date.now();
    const run = await runCli(t, ['build', 'trigger', 'pipeline', '--follow', ...api]);
    t.equal(run.code, 0, 'build trigger --follow exits 0: the build succeeded', {
      stdout: run.stdout,
      stderr: run.stderr,
    });
    t.comment(`the DAG sample took ${Date.now() - t0} ms`);
    for (const step of ['checkout', 'lint', 'test[shard=1,mode=debug]', 'test[shard=2,mode=release]', 'package']) {
      t.match(run.stdout, new RegExp(`✓ ${step.replace(/[[\]]/g, '\\$&')} success`), `${step} succeeded`);
    }
    t.match(run.stdout, /✓ publish success/);
    t.match(run.stdout, /pipeline #1 success/);

    // Workers of every kind, each on a "host" of its own (its namespace's name as its hostname).
    const view = JSON.parse((await runCli(t, ['workers', '--json', ...api])).stdout) as {
      workers: { kind: string; host: string }[];
    };
    t.same(
      [...new Set(view.workers.map((w) => w.kind))].sort(),
      ['control', 'copy-artifacts', 'exec-shell', 'git-checkout', 'publish-artifacts'],
      'a worker of every kind',
    );
    t.same(
      view.workers.map((w) => w.host).sort(),
      ['ctl1', 'git1', 'sh1', 'sh2', 'pub1', 'copy1'].map((h) => `${PREFIX}-${h}`).sort(),
      'each worker on its own host',
    );

    // Both frontends answer behind the one port: round robin over new connections reaches each.
    for (let i = 0; i < 4; i++) t.equal((await getOnce(`${url}/healthz`)).status, 200);
    for (const fe of ['31', '32']) {
      const metrics = await getOnce(`http://${SUBNET}.${fe}:8080/metrics`, token);
      t.match(metrics.body, /distci_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/, {
        message: `frontend ${SUBNET}.${fe} answered a request of the balancer's`,
      });
    }

    const status = await script(['status'], env, DOWN_DEADLINE_MS);
    t.equal(status.code, 0, 'status exits 0: every process alive', { stdout: status.stdout, stderr: status.stderr });
    for (const name of NAMES) t.match(status.stdout, new RegExp(`\\s${name}\\s+\\d+\\s+\\S+\\s+\\S+\\s+alive`));
    t.match(status.stdout, /zk\d.*alive \(leader\)/, 'status names the ZooKeeper leader');
    t.match(status.stdout, /fe1 .*alive \(ready\)/);
    t.match(status.stdout, /fe2 .*alive \(ready\)/);
    t.match(
      status.stdout,
      new RegExp(`balancer\\s+balancer\\s+\\d+\\s+\\(root\\)\\s+127\\.0\\.0\\.1:${port}\\s+alive`),
    );
    t.match(status.stdout, new RegExp(`URL: http://127\\.0\\.0\\.1:${port}`), 'status prints the URL');

    const down = await script(['down'], env, DOWN_DEADLINE_MS);
    t.equal(down.code, 0, 'down exits 0', { stdout: down.stdout, stderr: down.stderr });
    t.comment(`down took ${down.ms} ms`);
    checkClean(t, processes, 'after down');
    const twice = await script(['down'], env, DOWN_DEADLINE_MS);
    t.equal(twice.code, 0, 'down again exits 0 (idempotent)', { stderr: twice.stderr });
    checkClean(t, processes, 'after a second down');
    const after = await script(['status'], env, DOWN_DEADLINE_MS);
    t.equal(after.code, 3, 'status after down: no cluster');

    // A failed up (the balancer's port taken, after everything else started) stops what it started.
    // It hangs up on whoever connects (the script's readiness probe does): a connection left open would
    // keep close() waiting.
    const blocker = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    // One worker this time: the failure comes last, after every other process started.
    const failed = await script(['up'], { ...env, DISTCI_CLUSTER_WORKERS: 'control=1' }, UP_DEADLINE_MS);
    t.not(failed.code, 0, 'up fails when the balancer cannot bind its port', { stderr: failed.stderr });
    t.match(failed.stderr, /balancer died/, 'and says which process died');
    t.comment(`the failed up took ${failed.ms} ms`);
    const stopped = recorded(join(env.DISTCI_CLUSTER_DIR, 'processes.stopped'));
    t.same(
      [...stopped.keys()],
      NAMES.filter((n) => !['git1', 'sh1', 'sh2', 'pub1', 'copy1'].includes(n)),
      'it had started the rest',
    );
    checkClean(t, stopped, 'after a failed up');
    const downAfterFailure = await script(['down'], env, DOWN_DEADLINE_MS);
    t.equal(downAfterFailure.code, 0, 'down after a failed up exits 0', { stderr: downAfterFailure.stderr });
    checkClean(t, stopped, 'after down after a failed up');
  });
}
