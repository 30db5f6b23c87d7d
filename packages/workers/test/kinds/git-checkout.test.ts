/**
 * git-checkout against real repositories made by the test (`git init` + commits in temp dirs), through
 * local paths and file:// URLs, on the directory blob store and once on the real Ceph RGW.
 */
import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  type BlobStore,
  blobKeys,
  type Claim,
  decodeJson,
  listAll,
  openDistci,
  type StepPayload,
  type StepState,
  saveJob,
  triggerBuild,
} from '@distci/common';
import { createEmbeddedStore } from '@distci/store-embedded';
import t, { type Test } from 'tap';
import { createConfigCache } from '../../src/control/config-cache.js';
import { createGitCheckoutKind, gitCacheDir } from '../../src/kinds/git-checkout.js';
import { repositoryId } from '../../src/kinds/git-mirror.js';
import { createStepHandler } from '../../src/steps/step-handler.js';
import { restoreWorkspaces } from '../../src/steps/workspace.js';
import { testDirectoryBlobStore, testS3BlobStore } from '../helpers/blob-stores.js';
import { testRepo } from '../helpers/git-repo.js';
import { type TestStepInput, tempDir, testStep } from '../helpers/step-context.js';
import { treeOf } from '../helpers/tree.js';

const git = promisify(execFile);

const job = (url: string, step: Record<string, unknown> = {}, ref?: string) => ({
  name: 'web',
  repository: { url, ...(ref ? { ref } : {}) },
  steps: [{ name: 'checkout', type: 'git-checkout', ...step }],
});

/** Runs one checkout; returns the result, the log and the step's dir. */
async function checkout(
  t: Test,
  kind: ReturnType<typeof createGitCheckoutKind>,
  input: Omit<TestStepInput, 'blob'> & { blob: BlobStore },
) {
  const step = await testStep(t, input);
  const started = performance.now();
  const result = await kind.run(step.ctx);
  const ms = performance.now() - started;
  return { result, ms, log: await step.logText(), dir: step.ctx.dir };
}

/** The workspace a result names, restored into a fresh dir. */
async function restored(t: Test, blob: BlobStore, key: string): Promise<string> {
  const dir = await tempDir(t, 'distci-restored-');
  await restoreWorkspaces(blob, [key], dir);
  return dir;
}

t.test('a branch checks out its tip and records the exact commit; the workspace has a working .git', async (t) => {
  const repo = await testRepo(t);
  await repo.commit('one', { 'README.md': 'one\n' });
  const tip = await repo.commit('two', { 'README.md': 'two\n', 'src/app.js': 'console.log(1)\n' });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const { result, log } = await checkout(t, kind, { job: job(repo.dir), blob });
  t.match(result, { status: 'success', commit: tip, cacheHit: false, workspace: 'changed' });
  t.equal(result.workspaceKey, blobKeys.checkoutCache(repositoryId(repo.dir), tip));
  t.match(log, new RegExp(`refs/heads/main is at ${tip}`));
  t.match(log, /cache miss/);
  const ws = await restored(t, blob, result.workspaceKey!);
  const tree = await treeOf(ws, { skip: (p) => p === '.git' });
  t.same(Object.keys(tree), ['README.md', 'src/app.js']);
  const head = (await git('git', ['rev-parse', 'HEAD'], { cwd: ws })).stdout.trim();
  t.equal(head, tip, 'git works in the restored workspace, HEAD at the commit');
  const origin = (await git('git', ['remote', 'get-url', 'origin'], { cwd: ws })).stdout.trim();
  t.equal(origin, repo.dir);
  const status = (await git('git', ['status', '--porcelain'], { cwd: ws })).stdout;
  t.equal(status, '', 'the restored working tree is clean');
});

t.test('an explicit commit (from a webhook) is checked out exactly, also when the branch moved on', async (t) => {
  const repo = await testRepo(t);
  const first = await repo.commit('one', { 'a.txt': 'first\n' });
  await repo.commit('two', { 'a.txt': 'second\n' });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const { result } = await checkout(t, kind, {
    job: job(pathToFileURL(repo.dir).href),
    blob,
    payload: { ref: 'main', commit: first },
  });
  t.match(result, { status: 'success', commit: first, cacheHit: false });
  const ws = await restored(t, blob, result.workspaceKey!);
  t.equal(await readFile(join(ws, 'a.txt'), 'utf8'), 'first\n');
  t.equal((await git('git', ['rev-parse', 'HEAD'], { cwd: ws })).stdout.trim(), first);
});

t.test('the second checkout of a commit is a cache hit with identical content, and fetches nothing', async (t) => {
  const repo = await testRepo(t);
  // Enough content that a fetch costs something: 200 files of 10 KB.
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`src/f${i}.txt`] = `${i}`.repeat(10_000);
  const tip = await repo.commit('many files', files);
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const cold = await checkout(t, kind, { job: job(repo.dir), blob, build: 1 });
  t.match(cold.result, { status: 'success', cacheHit: false, commit: tip });
  const coldTree = await treeOf(cold.dir);

  // A different worker (its own empty git cache) and another build: still a hit.
  const other = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const hit = await checkout(t, other, { job: job(repo.dir), blob, build: 2 });
  t.match(hit.result, { status: 'success', cacheHit: true, commit: tip, workspace: 'changed' });
  t.equal(hit.result.workspaceKey, cold.result.workspaceKey);
  t.match(hit.log, /cache hit: .* nothing fetched/);
  t.same(await treeOf(hit.dir), {}, 'a hit downloads nothing into its own dir');
  const ws = await restored(t, blob, hit.result.workspaceKey!);
  t.same(await treeOf(ws), coldTree, 'the restored workspace equals the cold checkout, .git included');
  t.comment(`checkout of 200 x 10 KB files: cold ${cold.ms.toFixed(0)} ms, cache hit ${hit.ms.toFixed(0)} ms`);
});

t.test('the git cache makes the next fetch incremental, and a broken mirror is rebuilt', async (t) => {
  const repo = await testRepo(t);
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`src/f${i}.txt`] = `${i}`.repeat(10_000);
  await repo.commit('one', files);
  const blob = await testDirectoryBlobStore(t);
  const cacheDir = await tempDir(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir });
  const cold = await checkout(t, kind, { job: job(repo.dir), blob, build: 1 });
  const mirror = join(cacheDir, `${repositoryId(repo.dir)}.git`);
  t.equal((await git('git', ['rev-parse', '--is-bare-repository'], { cwd: mirror })).stdout.trim(), 'true');

  const second = await repo.commit('two', { 'b.txt': 'b\n' });
  const next = await checkout(t, kind, { job: job(repo.dir), blob, build: 2 });
  t.match(next.result, { status: 'success', cacheHit: false, commit: second });
  t.equal((await git('git', ['rev-parse', 'refs/heads/main'], { cwd: mirror })).stdout.trim(), second);
  t.comment(
    `200 x 10 KB repository: cold ${cold.ms.toFixed(0)} ms, next commit through the warm mirror ${next.ms.toFixed(0)} ms`,
  );

  // A worker killed mid-fetch leaves git's lock behind: every later fetch would fail on it.
  const third = await repo.commit('three', { 'c.txt': 'c\n' });
  await writeFile(join(mirror, 'shallow.lock'), '');
  const healed = await checkout(t, kind, { job: job(repo.dir), blob, build: 3 });
  t.match(healed.result, { status: 'success', commit: third });
  t.match(healed.log, /git cache .* was unusable .*shallow\.lock.*; rebuilt it/);

  // The object-store entry is gone (retention) and the remote is unreachable: a commit the mirror holds
  // is checked out from the mirror alone.
  await blob.delete(healed.result.workspaceKey!);
  await rename(repo.dir, `${repo.dir}-away`);
  t.teardown(() => rm(`${repo.dir}-away`, { recursive: true, force: true }));
  const offline = await checkout(t, kind, { job: job(repo.dir), blob, build: 4, payload: { commit: third } });
  t.match(offline.result, { status: 'success', commit: third, cacheHit: false });
});

t.test('tags, a step-level ref and the repository ref choose what is checked out', async (t) => {
  const repo = await testRepo(t);
  const v1 = await repo.commit('v1', { 'v.txt': '1\n' });
  await repo.git('tag', '-a', 'v1.0', '-m', 'release 1.0');
  await repo.git('checkout', '--quiet', '-b', 'docs');
  const docs = await repo.commit('docs', { 'docs.md': 'docs\n' });
  await repo.git('checkout', '--quiet', 'main');
  const main = await repo.commit('v2', { 'v.txt': '2\n' });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });

  const tag = await checkout(t, kind, { job: job(repo.dir, { ref: 'v1.0' }), blob, build: 1 });
  t.match(tag.result, { status: 'success', commit: v1 }, 'an annotated tag resolves to its commit');
  t.match(tag.log, /refs\/tags\/v1\.0 is at/);

  const stepRef = await checkout(t, kind, {
    job: job(repo.dir, { ref: 'docs' }),
    blob,
    build: 2,
    payload: { ref: 'main', commit: main },
  });
  t.match(stepRef.result, { status: 'success', commit: docs }, "the step's own ref wins over the build's commit");

  const repoRef = await checkout(t, kind, { job: job(repo.dir, {}, 'docs'), blob, build: 3 });
  t.match(repoRef.result, { status: 'success', commit: docs, cacheHit: true }, "the repository's ref, a hit now");

  const byId = await checkout(t, kind, { job: job(repo.dir, { ref: main }), blob, build: 4 });
  t.match(byId.result, { status: 'success', commit: main }, 'a full commit id as ref');
});

t.test('bad input fails the step with a clear message (reason exit-code), never throws', async (t) => {
  const repo = await testRepo(t);
  await repo.commit('one', { 'a.txt': 'a\n' });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });

  const noRef = await checkout(t, kind, { job: job(repo.dir, { ref: 'nope' }), blob, build: 1 });
  t.match(noRef.result, {
    status: 'failure',
    reason: 'exit-code',
    workspace: 'unchanged',
    message: `ref 'nope' not found in ${repo.dir}; branches include: main`,
  });
  t.match(noRef.log, /ref 'nope' not found/);

  const missing = await checkout(t, kind, {
    job: job(repo.dir),
    blob,
    build: 2,
    payload: { commit: 'f'.repeat(40) },
  });
  t.match(missing.result, {
    status: 'failure',
    reason: 'exit-code',
    message: `commit ${'f'.repeat(40)} not found in ${repo.dir}`,
  });

  const noRepo = await checkout(t, kind, { job: job(join(repo.dir, 'no-such-repo')), blob, build: 3 });
  t.match(noRepo.result, {
    status: 'failure',
    reason: 'exit-code',
    message: /git failed for .*no-such-repo.*not .*a git repository/i,
  });

  const dash = await checkout(t, kind, { job: job('--upload-pack=touch /tmp/x'), blob, build: 4 });
  t.match(dash.result, { status: 'failure', message: /cannot start with '-'/ });

  const short = await checkout(t, kind, { job: job(repo.dir), blob, build: 5, payload: { commit: 'abc123' } });
  t.match(short.result, { status: 'failure', message: /not a full commit id/ });
});

t.test('an unreachable host is an infrastructure error: thrown, so the runtime retries the ticket', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const step = await testStep(t, { job: job('http://127.0.0.1:1/repo.git'), blob });
  await t.rejects(kind.run(step.ctx), { message: /git could not reach .*: .*(refused|connect)/i });
});

t.test('an aborted step stops git and reports failure, leaving the verdict to the handler', async (t) => {
  const repo = await testRepo(t);
  await repo.commit('one', { 'a.txt': 'a\n' });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const step = await testStep(t, { job: job(repo.dir), blob });
  step.abort('cancelled');
  t.match(await kind.run(step.ctx), { status: 'failure', workspace: 'unchanged' });
  t.equal(step.ctx.stopReason(), 'cancelled');
});

t.test(
  'through the step handler: the step records the cache key as its workspace and archives nothing else',
  async (t) => {
    const repo = await testRepo(t);
    const tip = await repo.commit('one', { 'a.txt': 'a\n' });
    const blob = await testDirectoryBlobStore(t);
    const store = await createEmbeddedStore();
    t.teardown(() => store.close());
    const stored = await saveJob(store, blob, job(repo.dir));
    const handler = createStepHandler({
      kind: createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) }),
      distci: openDistci({ store, blob }),
      configs: createConfigCache(blob),
      workerId: 'test-worker',
    });
    const states: StepState[] = [];
    for (const attempt of [1, 2]) {
      const build = await triggerBuild(store, {
        job: 'web',
        config: stored.version,
        trigger: { type: 'manual' },
        ref: null,
      });
      const payload: StepPayload = {
        job: 'web',
        build,
        step: 'checkout',
        index: 0,
        config: stored.version,
        ref: null,
        commit: null,
        workspaces: [],
        matrix: null,
        deadline: null,
        upstream: null,
      };
      // Only what the step handler reads of a claim.
      const claim = { ticket: { data: { payload, attempt } }, attempt } as unknown as Claim;
      const outcome = await handler.run({ claim, store, signal: new AbortController().signal });
      t.equal(outcome.status, 'complete');
      const op = outcome.ops?.[0] as { data: Buffer } | undefined;
      states.push(decodeJson<StepState>(op!.data));
    }
    const key = blobKeys.checkoutCache(repositoryId(repo.dir), tip);
    t.match(states[0], { status: 'success', commit: tip, cacheHit: false, workspace: key });
    t.match(states[1], { status: 'success', commit: tip, cacheHit: true, workspace: key });
    const workspaces: string[] = [];
    for await (const info of listAll(blob, { prefix: blobKeys.buildsPrefix('web') })) {
      if (info.key.includes('/workspaces/')) workspaces.push(info.key);
    }
    t.same(workspaces, [], 'no attempt-scoped copy of the same archive');
  },
);

t.test('the default git cache dir follows the environment', async (t) => {
  t.equal(gitCacheDir({ DISTCI_GIT_CACHE_DIR: '/x/cache', DISTCI_DATA_DIR: '/d' }), '/x/cache');
  t.equal(gitCacheDir({ DISTCI_DATA_DIR: '/d' }), join('/d', 'git-cache'));
  t.match(gitCacheDir({}), /distci-git-cache$/);
});

t.test('s3: a checkout and its cache hit on the real Ceph RGW', async (t) => {
  const repo = await testRepo(t);
  const tip = await repo.commit('one', { 'a.txt': 'a\n', 'bin/tool': Buffer.from([0, 1, 2, 255]) });
  const blob = testS3BlobStore(t);
  const kind = createGitCheckoutKind({ allowLocalRepositories: true, cacheDir: await tempDir(t) });
  const cold = await checkout(t, kind, { job: job(repo.dir), blob, build: 1 });
  t.match(cold.result, { status: 'success', cacheHit: false, commit: tip });
  const hit = await checkout(t, kind, { job: job(repo.dir), blob, build: 2 });
  t.match(hit.result, { status: 'success', cacheHit: true, commit: tip });
  const ws = await restored(t, blob, hit.result.workspaceKey!);
  t.same(await treeOf(ws), await treeOf(cold.dir));
  t.comment(`on RGW: cold ${cold.ms.toFixed(0)} ms, cache hit ${hit.ms.toFixed(0)} ms`);
});
