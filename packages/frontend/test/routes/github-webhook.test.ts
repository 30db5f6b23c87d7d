/**
 * GitHub deliveries on real ZooKeeper + Ceph RGW: real payload shapes (fixtures) with valid signatures
 * start the right builds at the right commits; a wrong or missing signature is 401 and changes
 * nothing; a redelivery does not build twice, also when it races the original on two frontends.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildState, decodeJson, zpaths } from '@distci/common';
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { signPayload } from '../../src/github/signature.js';
import { AUTH, realStorage, SECRET, type TestStorage, testFrontend, testOptions } from '../helpers/frontend.js';
import { dumpState } from '../helpers/state-dump.js';

const fixtures = join(import.meta.dirname, '../fixtures/github');
const fixture = (name: string) => JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8'));
const PUSH_SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const PR_HEAD_SHA = 'e5bd3914e2e596debea16f433f57875b5b90bcd6';

let deliveries = 0;
const newDelivery = () => `72d3162e-cc78-11e3-81ab-4c9367dc${String(++deliveries).padStart(4, '0')}`;

function deliver(
  app: FastifyInstance,
  event: string,
  payload: unknown,
  options: { delivery?: string; signature?: string | null; secret?: string; form?: boolean } = {},
) {
  const json = JSON.stringify(payload);
  const body = options.form ? `payload=${encodeURIComponent(json)}` : json;
  const signature = options.signature === undefined ? signPayload(options.secret ?? SECRET, body) : options.signature;
  return app.inject({
    method: 'POST',
    url: '/api/v1/webhooks/github',
    headers: {
      'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
      'x-github-event': event,
      'x-github-delivery': options.delivery ?? newDelivery(),
      'user-agent': 'GitHub-Hookshot/044aadd',
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
    },
    payload: body,
  });
}

const job = (name: string, url: string, github: Record<string, unknown> | null) => ({
  name,
  repository: { url },
  ...(github ? { triggers: { github } } : {}),
  steps: [{ name: 'checkout', type: 'git-checkout' }],
});

async function setupJobs(app: FastifyInstance) {
  for (const config of [
    job('hello-main', 'git@github.com:octo-org/hello-world.git', { events: ['push'], branches: ['main'] }),
    job('hello-release', 'https://GitHub.com/octo-org/hello-world', {
      events: ['push', 'pull_request'],
      branches: ['release/*'],
    }),
    job('hello-any', 'https://github.com/Octo-Org/Hello-World.git', { events: ['push'] }),
    job('hello-pr', 'ssh://git@github.com/Octo-Org/Hello-World.git', { events: ['pull_request'], branches: ['main'] }),
    job('other-repo', 'https://github.com/octo-org/other', { events: ['push', 'pull_request'] }),
    job('no-github', 'https://github.com/octo-org/hello-world', null),
  ]) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: config });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
}

async function buildState(storage: TestStorage, jobName: string, n: number): Promise<BuildState> {
  const store = await storage.connect();
  try {
    return decodeJson<BuildState>((await store.get(zpaths.build(jobName, n))).data);
  } finally {
    await store.close();
  }
}

t.test('GitHub deliveries', async (t) => {
  const storage = realStorage(t);
  const { app, store, blob } = await testFrontend(t, storage);
  await setupJobs(app);
  const builds = async (name: string) => (await store.children(zpaths.builds(name)).catch(() => [])).length;
  const counts = async () =>
    Object.fromEntries(
      await Promise.all(
        ['hello-main', 'hello-release', 'hello-any', 'hello-pr', 'other-repo', 'no-github'].map(
          async (n) => [n, await builds(n)] as const,
        ),
      ),
    );

  t.test('ping answers 200 and writes nothing', async (t) => {
    const before = await dumpState(store, blob);
    const res = await deliver(app, 'ping', fixture('ping'));
    t.equal(res.statusCode, 200);
    t.match(res.json(), { event: 'ping', duplicate: false, builds: [] });
    t.same(await dumpState(store, blob), before);
  });

  t.test('a wrong, missing or foreign signature is 401 and changes nothing', async (t) => {
    const before = await dumpState(store, blob);
    const push = fixture('push');
    const cases: Array<[string, Parameters<typeof deliver>[3]]> = [
      ['missing', { signature: null }],
      ['another secret', { secret: 'not the secret' }],
      ['of another body', { signature: signPayload(SECRET, '{}') }],
      ['sha1 form', { signature: 'sha1=0123456789abcdef0123456789abcdef01234567' }],
      ['truncated', { signature: signPayload(SECRET, JSON.stringify(push)).slice(0, 40) }],
      ['garbage', { signature: 'sha256=zz' }],
    ];
    for (const [name, options] of cases) {
      const res = await deliver(app, 'push', push, options);
      t.equal(res.statusCode, 401, name);
      t.equal(res.json().code, 'DISTCI_BAD_SIGNATURE', name);
    }
    t.same(await dumpState(store, blob), before, 'nothing changed');
  });

  t.test('push to main builds the jobs that want main, at the pushed commit', async (t) => {
    const delivery = newDelivery();
    const t0 = performance.now();
    const res = await deliver(app, 'push', fixture('push'), { delivery });
    const ms = performance.now() - t0;
    t.equal(res.statusCode, 200);
    t.ok(ms < 2000, `answered in ${ms.toFixed(0)} ms`);
    t.comment(`push delivery answered in ${ms.toFixed(1)} ms (6 jobs, RGW + ZooKeeper)`);
    const answer = res.json();
    t.match(answer, { event: 'push', delivery, duplicate: false, ignored: false });
    t.same(
      answer.builds.map((b: { job: string; number: number }) => [b.job, b.number]),
      [
        ['hello-any', 1],
        ['hello-main', 1],
      ],
    );
    for (const name of ['hello-any', 'hello-main']) {
      const state = await buildState(storage, name, 1);
      t.match(state, {
        ref: 'refs/heads/main',
        commit: PUSH_SHA,
        // repo: where the build's commit statuses go.
        trigger: { type: 'github', event: 'push', delivery, sender: 'octocat', repo: 'Octo-Org/Hello-World' },
      });
    }
    t.same(await counts(), {
      'hello-main': 1,
      'hello-release': 0,
      'hello-any': 1,
      'hello-pr': 0,
      'other-repo': 0,
      'no-github': 0,
    });

    // Redelivered (GitHub's "Redeliver" button): the same answer, no second build.
    const again = await deliver(app, 'push', fixture('push'), { delivery });
    t.equal(again.statusCode, 200);
    t.match(again.json(), { duplicate: true, builds: answer.builds });
    t.equal(await builds('hello-main'), 1);
    t.equal(await builds('hello-any'), 1);
  });

  t.test('push to a release branch, form-encoded', async (t) => {
    const res = await deliver(app, 'push', { ...fixture('push'), ref: 'refs/heads/release/2.0' }, { form: true });
    t.equal(res.statusCode, 200);
    t.same(
      res.json().builds.map((b: { job: string }) => b.job),
      ['hello-any', 'hello-release'],
    );
    t.equal((await buildState(storage, 'hello-release', 1)).ref, 'refs/heads/release/2.0');
  });

  t.test('tags, deletions, closed pull requests and other events build nothing', async (t) => {
    const before = await counts();
    const zero = '0000000000000000000000000000000000000000';
    const ignored = [
      await deliver(app, 'push', { ...fixture('push'), ref: 'refs/tags/v1.0' }),
      await deliver(app, 'push', { ...fixture('push'), after: zero, deleted: true }),
      await deliver(app, 'pull_request', { ...fixture('pull_request'), action: 'closed' }),
      await deliver(app, 'issues', { action: 'opened', repository: fixture('push').repository }),
      await deliver(app, 'push', { ...fixture('push'), ref: 'refs/heads/feature/x' }),
    ];
    t.same(
      ignored.map((r) => [r.statusCode, r.json().ignored]),
      [
        [200, true],
        [200, true],
        [200, true],
        [200, true],
        [200, false],
      ],
    );
    t.same(
      ignored[4]!.json().builds.map((b: { job: string }) => b.job),
      ['hello-any'],
      'only the job without a filter',
    );
    t.same(await counts(), { ...before, 'hello-any': before['hello-any']! + 1 });
  });

  t.test('pull_request opened builds the head commit for jobs filtering on the base branch', async (t) => {
    const delivery = newDelivery();
    const res = await deliver(app, 'pull_request', fixture('pull_request'), { delivery });
    t.equal(res.statusCode, 200);
    t.same(
      res.json().builds.map((b: { job: string; number: number }) => [b.job, b.number]),
      [['hello-pr', 1]],
    );
    t.match(await buildState(storage, 'hello-pr', 1), {
      ref: 'refs/pull/2/head',
      commit: PR_HEAD_SHA,
      trigger: { type: 'github', event: 'pull_request', delivery, repo: 'Octo-Org/Hello-World' },
    });
    const pr = fixture('pull_request');
    pr.action = 'synchronize';
    pr.pull_request.base.ref = 'release/3';
    const sync = await deliver(app, 'pull_request', pr);
    t.same(
      sync.json().builds.map((b: { job: string }) => b.job),
      ['hello-release'],
    );
  });

  t.test('malformed deliveries with a valid signature: 400, nothing built', async (t) => {
    const before = await dumpState(store, blob);
    const bad = [
      await deliver(app, 'push', { ref: 'refs/heads/main' }),
      await deliver(app, 'push', { ...fixture('push'), after: 'not-a-sha' }),
      await deliver(app, 'pull_request', { ...fixture('pull_request'), pull_request: { head: {} } }),
      await deliver(app, 'push', 'a string'),
      await deliver(app, 'push;rm', fixture('push')),
      await deliver(app, 'push', fixture('push'), { delivery: '../../etc/passwd' }),
    ];
    t.same(
      bad.map((r) => r.statusCode),
      [400, 400, 400, 400, 400, 400],
    );
    for (const r of bad) t.match(r.json().code, /^DISTCI_BAD_REQUEST$/);
    t.same(await dumpState(store, blob), before);
  });
});

t.test('a delivery racing its redelivery on two frontends builds each job once', async (t) => {
  const storage = realStorage(t);
  const one = await testFrontend(t, storage);
  const two = await testFrontend(t, storage);
  await setupJobs(one.app);
  const delivery = newDelivery();
  const answers = await Promise.all(
    Array.from({ length: 6 }, (_, i) => deliver(i % 2 ? one.app : two.app, 'push', fixture('push'), { delivery })),
  );
  t.same(
    answers.map((a) => a.statusCode),
    [200, 200, 200, 200, 200, 200],
  );
  t.equal(answers.filter((a) => !a.json().duplicate).length, 1, 'one of them created the inbox record');
  for (const a of answers) {
    t.same(
      a.json().builds.map((b: { job: string; number: number }) => [b.job, b.number]),
      [
        ['hello-any', 1],
        ['hello-main', 1],
      ],
    );
  }
  t.same(await one.store.children(zpaths.builds('hello-main')), ['b-0000000001']);
  t.same(await one.store.children(zpaths.builds('hello-any')), ['b-0000000001']);
});

t.test('without a configured secret every delivery is refused', async (t) => {
  const storage = realStorage(t);
  const { app } = await testFrontend(t, storage, testOptions({ githubSecret: '' }));
  const res = await deliver(app, 'ping', fixture('ping'));
  t.equal(res.statusCode, 401);
  t.match(res.json().message, /no DISTCI_GITHUB_SECRET/);
});
