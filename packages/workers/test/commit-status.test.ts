/**
 * GitHub commit statuses of webhook builds, on real ZooKeeper + Ceph RGW with real workers and a local
 * HTTP server standing in for GitHub: `pending` when the build starts and its result at the end, with
 * the build page as `target_url`; a 5xx is retried, a rate limit waited out; a control worker SIGKILLed
 * while it posts leaves the status to be posted again by another; nothing is left in the outbox.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadJob, triggerBuild, zpaths } from '@distci/common';
import t, { type Test } from 'tap';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';
import { tempDir } from './helpers/step-context.js';

const SHA = 'c0ffee'.padEnd(40, '0');

interface StatusPost {
  path: string;
  authorization: string | undefined;
  body: { state: string; description: string; context: string; target_url?: string };
  at: number;
}

type Responder = (res: ServerResponse) => void;

/** A stand-in for GitHub's statuses API: records each POST, answers with the next responder (201 after them). */
async function fakeGithub(t: Test, responders: Responder[] = []) {
  const posts: StatusPost[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        at: Date.now(),
      });
      const respond = responders.shift() ?? ((r: ServerResponse) => r.writeHead(201).end('{}'));
      respond(res);
      for (const w of [...waiters]) {
        if (posts.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    held,
    /** The next status is answered `status` (a GitHub error body). */
    refuseNext(status: number) {
      responders.push((res) => res.writeHead(status).end('{"message":"Validation Failed"}'));
    },
    /** Resolves once `n` statuses were posted; fails the wait after `ms`. */
    received(n: number, ms = 60_000): Promise<void> {
      if (posts.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`GitHub got ${posts.length} statuses, not ${n}, within ${ms} ms`)),
          ms,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

/** Waits (watching, at most `ms`) until `path` has no node. */
async function gone(c: TestCluster, path: string, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    let fired: () => void = () => {};
    const watched = new Promise<void>((resolve) => {
      fired = resolve;
    });
    // One read both looks and sets the watch: a delete right after it still fires the watch.
    if ((await c.store.exists(path, () => fired())) === null) return;
    const left = until - Date.now();
    if (left <= 0) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([watched, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }
}

async function webhookBuild(c: TestCluster, job: string): Promise<number> {
  const { version } = await loadJob(c.blob, job);
  return triggerBuild(c.store, {
    job,
    config: version,
    trigger: { type: 'github', event: 'push', delivery: `d-${job}`, repo: 'octo/web' },
    ref: 'refs/heads/main',
    commit: SHA,
  });
}

const githubEnv = (url: string) => ({
  DISTCI_GITHUB_TOKEN: 'gh-test-token',
  DISTCI_GITHUB_API_URL: `${url}/`,
  DISTCI_PUBLIC_URL: 'https://ci.example',
});

t.test('pending at the start, the result at the end; a 5xx is retried, a rate limit waited out', async (t) => {
  const resetAt = Math.ceil(Date.now() / 1000) + 2; // epoch seconds, as GitHub sends them
  const github = await fakeGithub(t, [
    (res) => res.writeHead(502).end('bad gateway'),
    (res) => res.writeHead(201).end('{}'),
    (res) =>
      res
        .writeHead(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetAt) })
        .end('{"message":"API rate limit exceeded"}'),
  ]);
  const c = await startTestCluster(t, {});
  await c.startWorker('control', { env: githubEnv(github.url) });
  await c.startWorker('exec-shell', { isolation: 'none' });
  await c.push({ name: 'web', steps: [{ name: 'hi', type: 'exec-shell', run: 'echo hi' }] });
  await c.push({ name: 'broken', steps: [{ name: 'no', type: 'exec-shell', run: 'exit 1' }] });

  // A build nobody triggered through GitHub reports nothing.
  t.equal((await c.finished('web', await c.trigger('web'))).status, 'success');
  const n = await webhookBuild(c, 'web');
  t.equal((await c.finished('web', n)).status, 'success');
  await github.received(4);
  await gone(c, zpaths.statusOutbox('web', n), 'the outbox of web to be emptied');
  t.same(
    github.posts.map((p) => p.body.state),
    ['pending', 'pending', 'success', 'success'],
    'pending (a 502, then again), success (rate limited, then again)',
  );
  t.ok(github.posts[3]!.at >= resetAt * 1000, 'the rate-limited status is posted again once the limit resets');
  for (const p of github.posts) {
    t.equal(p.path, `/repos/octo/web/statuses/${SHA}`);
    t.equal(p.authorization, 'Bearer gh-test-token');
  }
  t.match(github.posts[3]!.body, {
    context: 'distci/web',
    target_url: `https://ci.example/jobs/web/builds/${n}`,
    description: `distci web #${n} succeeded`,
  });

  const failed = await webhookBuild(c, 'broken');
  t.equal((await c.finished('broken', failed)).status, 'failure');
  await github.received(6);
  t.same(
    github.posts.slice(4).map((p) => [p.body.context, p.body.state]),
    [
      ['distci/broken', 'pending'],
      ['distci/broken', 'failure'],
    ],
  );
  await gone(c, zpaths.statusOutbox('broken', failed), 'the outbox of broken to be emptied');

  // A 422 is not retried: that status is dropped; the build's result is still posted at its end.
  // Its step holds until the refused status was answered (bounded: 30 s), so that one is `pending`.
  const dir = await tempDir(t);
  const run = `for i in $(seq 1 600); do [ -e ${dir}/go ] && exit 0; sleep 0.05; done; exit 1`;
  await c.push({ name: 'held', steps: [{ name: 'wait', type: 'exec-shell', run }] });
  github.refuseNext(422);
  const refused = await webhookBuild(c, 'held');
  await github.received(7);
  await writeFile(join(dir, 'go'), '');
  t.equal((await c.finished('held', refused)).status, 'success');
  await github.received(8);
  await gone(c, zpaths.statusOutbox('held', refused), 'the outbox of the refused build to be emptied');
  t.same(
    github.posts.slice(6).map((p) => p.body.state),
    ['pending', 'success'],
    'pending refused once (not retried), success posted',
  );
  t.same(await c.store.children(zpaths.statusOutboxes()), [], 'nothing left in the outbox');
});

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'build-worker.ts');

function spawnControl(t: Test, env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--conditions=distci-source', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"type":"ready"')) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, exited };
}

t.test('a control worker SIGKILLed while it posts: another posts the status again', async (t) => {
  // GitHub never answers the first status: the worker is killed while it waits for the answer.
  let hung: () => void = () => {};
  const hanging = new Promise<void>((resolve) => {
    hung = resolve;
  });
  const github = await fakeGithub(t, [
    (res) => {
      github.held.push(res);
      hung();
    },
  ]);
  const dir = await tempDir(t);
  const c = await startTestCluster(t, {});
  await c.startWorker('exec-shell', { isolation: 'none' });
  // The step holds until the test has seen the status posted again (bounded: 30 s), so that status
  // is the `pending` the killed worker was posting, not already the result.
  const run = `for i in $(seq 1 600); do [ -e ${dir}/go ] && exit 0; sleep 0.05; done; exit 1`;
  await c.push({ name: 'web', steps: [{ name: 'hi', type: 'exec-shell', run }] });
  const env = { ...c.env, ...githubEnv(github.url) };
  const first = spawnControl(t, env);
  await first.ready;
  const n = await webhookBuild(c, 'web');
  await hanging;
  first.child.kill('SIGKILL');
  await first.exited;

  const second = spawnControl(t, env);
  await second.ready;
  await github.received(2);
  t.equal(github.posts[1]!.body.state, 'pending', 'the interrupted status is posted again');
  await writeFile(join(dir, 'go'), '');
  t.equal((await c.finished('web', n)).status, 'success');
  await github.received(3);
  await gone(c, zpaths.statusOutbox('web', n), 'the outbox to be emptied');
  t.same(
    github.posts.map((p) => p.body.state),
    ['pending', 'pending', 'success'],
    'pending posted again after the kill, then success once',
  );
  second.child.kill('SIGTERM');
  await second.exited;
});
