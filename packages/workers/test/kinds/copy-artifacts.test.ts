/**
 * copy-artifacts from builds published by the real publish-artifacts kind: by number, lastSuccessful
 * (from the job node in a coordination store: embedded here, ZooKeeper in the s3 test) and triggering;
 * globs and `into`; optional; and refusal of crafted manifests, corrupt downloads and links to outside
 * — with proof that nothing was written outside the workspace.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type BlobStore,
  blobKeys,
  type CoordinationStore,
  encodeJson,
  type JobNode,
  readBlob,
  zpaths,
} from '@distci/common';
import { createEmbeddedStore } from '@distci/store-embedded';
import t, { type Test } from 'tap';
import { copyArtifactsKind } from '../../src/kinds/copy-artifacts.js';
import { publishArtifactsKind } from '../../src/kinds/publish-artifacts.js';
import { testDirectoryBlobStore, testS3BlobStore } from '../helpers/blob-stores.js';
import { tempDir, testStep } from '../helpers/step-context.js';
import { treeOf } from '../helpers/tree.js';
import { testChroot } from '../helpers/zookeeper.js';

async function embedded(t: Test): Promise<CoordinationStore> {
  const store = await createEmbeddedStore();
  t.teardown(() => store.close());
  return store;
}

/** Build `n` of job `job`: files published by publish-artifacts, then its record archived. */
async function sourceBuild(t: Test, blob: BlobStore, job: string, n: number, files: Record<string, string>) {
  const dir = await tempDir(t);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const step = await testStep(t, {
    job: { name: job, steps: [{ name: 'publish', type: 'publish-artifacts', paths: ['**'] }] },
    blob,
    dir,
    build: n,
  });
  t.match(await publishArtifactsKind.run(step.ctx), { status: 'success' });
  await blob.put(blobKeys.build(job, n), JSON.stringify({ v: 1, job, number: n, status: 'success' }));
}

async function setJobNode(store: CoordinationStore, job: string, node: Partial<JobNode>): Promise<void> {
  const full: JobNode = { v: 1, nextBuild: 10, lastSuccessful: null, lastFinished: null, ...node };
  await store.ensurePath(zpaths.jobs());
  await store.create(zpaths.job(job), encodeJson(full));
}

/** A workspace inside a parent dir, so that "outside" is observable. */
async function sandbox(t: Test) {
  const parent = await tempDir(t, 'distci-sandbox-');
  const dir = join(parent, 'ws');
  await mkdir(dir);
  return { parent, dir };
}

async function copy(
  t: Test,
  blob: BlobStore,
  from: Record<string, unknown>,
  options: {
    paths?: string[];
    into?: string;
    optional?: boolean;
    store?: CoordinationStore;
    dir?: string;
    upstream?: { job: string; build: number } | null;
  } = {},
) {
  const step = await testStep(t, {
    legacy: true, // bad `into`s and patterns reach the kind (configs saved before they were refused)
    job: {
      name: 'web',
      steps: [
        {
          name: 'copy',
          type: 'copy-artifacts',
          from,
          paths: options.paths ?? ['**'],
          ...(options.into ? { into: options.into } : {}),
          ...(options.optional ? { optional: true } : {}),
        },
      ],
    },
    blob,
    build: 7,
    ...(options.store ? { store: options.store } : {}),
    ...(options.dir ? { dir: options.dir } : {}),
    payload: { upstream: options.upstream ?? null },
  });
  const result = await copyArtifactsKind.run(step.ctx);
  return { result, log: await step.logText(), dir: step.ctx.dir };
}

t.test('by number: matching files land under `into` with their content; others stay out', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 3, {
    'dist/lib.so': 'binary',
    'dist/include/lib.h': 'int f(void);',
    'docs/index.html': '<p>docs</p>',
  });
  const { result, log, dir } = await copy(
    t,
    blob,
    { job: 'lib', build: 3 },
    { paths: ['dist/**'], into: 'vendor/lib' },
  );
  t.match(result, { status: 'success', workspace: 'changed' });
  t.same(Object.keys(await treeOf(dir)), ['vendor/lib/dist/include/lib.h', 'vendor/lib/dist/lib.so']);
  t.equal(await readFile(join(dir, 'vendor/lib/dist/lib.so'), 'utf8'), 'binary');
  t.match(log, /copying 2 artifact\(s\) of lib#3 \(3\) into vendor\/lib/);
});

t.test('lastSuccessful comes from the job node; the default `build` is lastSuccessful', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const store = await embedded(t);
  await sourceBuild(t, blob, 'lib', 1, { 'out.txt': 'one' });
  await sourceBuild(t, blob, 'lib', 2, { 'out.txt': 'two' });
  await setJobNode(store, 'lib', { lastSuccessful: 2, lastFinished: 3 });
  const explicit = await copy(t, blob, { job: 'lib', build: 'lastSuccessful' }, { store });
  t.match(explicit.result, { status: 'success' });
  t.equal(await readFile(join(explicit.dir, 'out.txt'), 'utf8'), 'two');
  const implicit = await copy(t, blob, { job: 'lib' }, { store });
  t.equal(await readFile(join(implicit.dir, 'out.txt'), 'utf8'), 'two');

  const none = await copy(t, blob, { job: 'nosuch' }, { store });
  t.match(none.result, {
    status: 'failure',
    reason: 'exit-code',
    message: /^job 'nosuch' has no successful build yet/,
  });
  t.equal(await store.exists(zpaths.job('nosuch')), null, "a missing job's node is not created");
  await setJobNode(store, 'failing', { lastSuccessful: null, lastFinished: 4 });
  const never = await copy(t, blob, { job: 'failing' }, { store });
  t.match(never.result, { status: 'failure', message: /^job 'failing' has no successful build yet/ });
  const optional = await copy(t, blob, { job: 'failing' }, { store, optional: true });
  t.match(optional.result, { status: 'success', workspace: 'unchanged' }, 'optional: nothing to copy is fine');
  t.match(optional.log, /no successful build yet; optional, so nothing is copied/);
});

t.test('triggering: the upstream build that triggered this one, and a clear failure otherwise', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 4, { 'lib.txt': 'from 4' });
  const ok = await copy(t, blob, { job: 'lib', build: 'triggering' }, { upstream: { job: 'lib', build: 4 } });
  t.match(ok.result, { status: 'success' });
  t.equal(await readFile(join(ok.dir, 'lib.txt'), 'utf8'), 'from 4');

  const manual = await copy(t, blob, { job: 'lib', build: 'triggering' });
  t.match(manual.result, {
    status: 'failure',
    reason: 'exit-code',
    message: /^build web#7 was not triggered by another build, so it has no 'triggering' build to copy from/,
  });
  t.match(manual.log, /was not triggered by another build/);
  const other = await copy(t, blob, { job: 'lib', build: 'triggering' }, { upstream: { job: 'api', build: 9 } });
  t.match(other.result, { status: 'failure', message: /^build web#7 was triggered by api#9, not by job 'lib'/ });
  const manualOptional = await copy(t, blob, { job: 'lib', build: 'triggering' }, { optional: true });
  t.match(manualOptional.result, { status: 'success' }, 'a manual build of a job with an optional triggering copy');
});

t.test('nothing matching fails unless optional; a build that does not exist or published nothing', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 1, { 'a.txt': 'a' });
  const none = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['dist/**'] });
  t.match(none.result, {
    status: 'failure',
    reason: 'exit-code',
    message: /no artifact of lib#1 \(1\) matches \["dist\/\*\*"\] \(set "optional": true/,
  });
  const optional = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['dist/**'], optional: true });
  t.match(optional.result, { status: 'success', workspace: 'unchanged' });

  const missing = await copy(t, blob, { job: 'lib', build: 99 });
  t.match(missing.result, { status: 'failure', message: /^job 'lib' has no finished build 99/ });
  await blob.put(blobKeys.build('lib', 5), '{}');
  const empty = await copy(t, blob, { job: 'lib', build: 5 });
  t.match(empty.result, { status: 'failure', message: /matches \["\*\*"\]: it published none/ });
});

t.test('dotfiles need an explicit pattern, as in publish-artifacts', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 1, { 'a.txt': 'a' });
  // A dotfile published explicitly by another step.
  const dir = await tempDir(t);
  await writeFile(join(dir, '.env.example'), 'A=1');
  const step = await testStep(t, {
    job: { name: 'lib', steps: [{ name: 'dots', type: 'publish-artifacts', paths: ['.env.example'] }] },
    blob,
    dir,
  });
  t.match(await publishArtifactsKind.run(step.ctx), { status: 'success' });
  const all = await copy(t, blob, { job: 'lib', build: 1 });
  t.same(Object.keys(await treeOf(all.dir)), ['a.txt']);
  const dots = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['.env.*'] });
  t.same(Object.keys(await treeOf(dots.dir)), ['.env.example']);
});

t.test('a crafted manifest (../x, absolute path) is refused whole; nothing is written anywhere', async (t) => {
  for (const bad of ['../x', '../../x', '/tmp/distci-evil-copy', 'a/../../x', 'a//b']) {
    const blob = await testDirectoryBlobStore(t);
    await sourceBuild(t, blob, 'lib', 1, { 'good.txt': 'good' });
    const manifest = JSON.parse((await readBlob(blob, blobKeys.artifactManifest('lib', 1))).toString());
    manifest.artifacts.push({ ...manifest.artifacts[0], path: bad });
    await blob.put(blobKeys.artifactManifest('lib', 1), JSON.stringify(manifest));
    const { parent, dir } = await sandbox(t);
    const { result } = await copy(t, blob, { job: 'lib', build: 1 }, { dir });
    t.match(
      result,
      {
        status: 'failure',
        reason: 'infrastructure',
        message: /the artifact manifest .* is invalid: .*nothing was copied/,
      },
      bad,
    );
    t.same(await readdir(parent), ['ws'], `${bad}: nothing beside the workspace`);
    t.same(await readdir(dir), [], `${bad}: nothing in it either`);
    t.notOk(existsSync('/tmp/distci-evil-copy'));
  }
});

t.test('a download whose sha256 differs from the manifest never reaches its destination', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 1, { 'a.txt': 'the real a', 'b.txt': 'b' });
  await blob.put(blobKeys.artifact('lib', 1, 'a.txt'), 'tampered!!');
  const { result, dir } = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['a.txt'] });
  t.match(result, {
    status: 'failure',
    reason: 'infrastructure',
    message: /artifact 'a.txt' of lib#1 is corrupt: 10 bytes with sha256 [0-9a-f]{64}, the manifest says 10 bytes/,
  });
  t.same(await readdir(dir), [], 'no file, no temp file left');
});

t.test(
  'links in the workspace: `into` a link to outside is refused; a link at a destination is replaced, not written through',
  async (t) => {
    const blob = await testDirectoryBlobStore(t);
    await sourceBuild(t, blob, 'lib', 1, { 'lib/a.txt': 'a', 'b.txt': 'b' });
    const { parent, dir } = await sandbox(t);
    await mkdir(join(parent, 'elsewhere'));
    await writeFile(join(parent, 'target.txt'), 'must stay');
    await symlink('../elsewhere', join(dir, 'vendor'));
    await symlink('../target.txt', join(dir, 'b.txt'));

    const into = await copy(t, blob, { job: 'lib', build: 1 }, { into: 'vendor', dir });
    t.match(into.result, {
      status: 'failure',
      reason: 'exit-code',
      message: /refused to write 'vendor': 'vendor' is a link to outside the workspace/,
    });
    t.same(await readdir(join(parent, 'elsewhere')), [], 'nothing written through the link');

    const direct = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['b.txt'], dir });
    t.match(direct.result, { status: 'success' });
    t.equal(await readFile(join(parent, 'target.txt'), 'utf8'), 'must stay', 'the link target is untouched');
    t.equal(await readFile(join(dir, 'b.txt'), 'utf8'), 'b', 'the link was replaced by the file');
    t.equal(await readlink(join(dir, 'vendor')), '../elsewhere');

    // A link to a directory inside the workspace is fine.
    await mkdir(join(dir, 'real'));
    await symlink('real', join(dir, 'inside'));
    const inside = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['lib/**'], into: 'inside', dir });
    t.match(inside.result, { status: 'success' });
    t.equal(await readFile(join(dir, 'real/lib/a.txt'), 'utf8'), 'a');
  },
);

t.test('bad `into` and patterns fail clearly', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  await sourceBuild(t, blob, 'lib', 1, { 'a.txt': 'a' });
  for (const into of ['../up', '/abs', 'a/../../b']) {
    const { result } = await copy(t, blob, { job: 'lib', build: 1 }, { into });
    t.match(result, { status: 'failure', reason: 'exit-code', message: /copy-artifacts: into/ }, into);
  }
  const { result } = await copy(t, blob, { job: 'lib', build: 1 }, { paths: ['../*'] });
  t.match(result, { status: 'failure', message: /'\.\.' segment/ });

  const dir = await tempDir(t);
  await mkdir(join(dir, 'a.txt'));
  const inTheWay = await copy(t, blob, { job: 'lib', build: 1 }, { dir });
  t.match(inTheWay.result, {
    status: 'failure',
    reason: 'exit-code',
    message: "cannot write 'a.txt': a directory of that name is in the workspace",
  });
  t.same(await readdir(dir), ['a.txt'], 'no temp file left beside it');
  t.same(await readdir(join(dir, 'a.txt')), [], 'nothing written into the directory');
  await writeFile(join(dir, 'file'), 'x');
  const notDir = await copy(t, blob, { job: 'lib', build: 1 }, { dir, into: 'file/sub' });
  t.match(notDir.result, { status: 'failure', reason: 'exit-code', message: /'file' is not a directory/ });
});

t.test('s3 + ZooKeeper: lastSuccessful from a real job node, artifacts from the real Ceph RGW', async (t) => {
  const blob = testS3BlobStore(t);
  const store = await testChroot(t, 'copy').open();
  await sourceBuild(t, blob, 'lib', 2, { 'dist/lib.tar.gz': 'x'.repeat(100_000), 'dist/VERSION': '2\n' });
  await setJobNode(store, 'lib', { lastSuccessful: 2, lastFinished: 2 });
  const { result, dir } = await copy(t, blob, { job: 'lib' }, { store, paths: ['dist/*'], into: 'deps' });
  t.match(result, { status: 'success', workspace: 'changed' });
  t.equal(await readFile(join(dir, 'deps/dist/VERSION'), 'utf8'), '2\n');
  t.equal((await readFile(join(dir, 'deps/dist/lib.tar.gz'), 'utf8')).length, 100_000);
});
