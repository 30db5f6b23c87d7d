/**
 * publish-artifacts on real workspaces in temp dirs: globs, manifest (sha256 checked against the files),
 * content types, dotfiles and links, optional, fencing (a second attempt, a conflicting step, concurrent
 * steps), and the 200 × 10 KB publish measured on the real Ceph RGW.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactManifest } from '@distci/common';
import { type BlobStore, blobKeys, readBlob } from '@distci/common';
import t, { type Test } from 'tap';
import { publishArtifactsKind } from '../../src/kinds/publish-artifacts.js';
import { testDirectoryBlobStore, testS3BlobStore } from '../helpers/blob-stores.js';
import { tempDir, testStep } from '../helpers/step-context.js';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

const job = (steps: Array<{ name: string; paths: string[]; optional?: boolean }>) => ({
  name: 'web',
  steps: steps.map((s) => ({ type: 'publish-artifacts', ...s })),
});

async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

async function manifestOf(blob: BlobStore, build = 1): Promise<ArtifactManifest> {
  return JSON.parse((await readBlob(blob, blobKeys.artifactManifest('web', build))).toString('utf8'));
}

async function publish(
  t: Test,
  blob: BlobStore,
  input: { paths: string[]; optional?: boolean; files?: Record<string, string | Buffer>; dir?: string },
  extra: { step?: string; attempt?: number; build?: number } = {},
) {
  const dir = input.dir ?? (await tempDir(t, 'distci-ws-'));
  if (input.files) await writeFiles(dir, input.files);
  const name = extra.step ?? 'publish';
  const step = await testStep(t, {
    legacy: true, // bad patterns reach the kind (configs saved before they were refused)
    job: job([{ name, paths: input.paths, ...(input.optional ? { optional: true } : {}) }]),
    blob,
    dir,
    attempt: extra.attempt ?? 1,
    build: extra.build ?? 1,
  });
  const started = performance.now();
  const result = await publishArtifactsKind.run(step.ctx);
  return { result, ms: performance.now() - started, log: await step.logText(), dir };
}

t.test(
  'globs select files (no dotfiles, no links, no directories); the manifest lists them with sha256 and content type',
  async (t) => {
    const blob = await testDirectoryBlobStore(t);
    const parent = await tempDir(t);
    const dir = join(parent, 'ws');
    await writeFiles(parent, { 'outside.txt': 'not yours' });
    const files = {
      'dist/app.js': 'console.log("hi")\n',
      'dist/app.js.map': '{}',
      'dist/index.html': '<!doctype html><p>hi</p>\n',
      'dist/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]),
      'dist/data.json': '{"a":1}\n',
      'dist/sub/readme.txt': 'nested\n',
      'dist/.env': 'SECRET=1\n',
      'dist/.cache/x.js': 'hidden dir\n',
      'dist/blob.xyz-unknown': 'opaque',
      'notes.md': 'not matched\n',
    };
    await writeFiles(dir, files);
    await symlink('../../outside.txt', join(dir, 'dist/leak.txt'));
    await symlink('app.js', join(dir, 'dist/alias.js'));
    await mkdir(join(dir, 'dist/empty.js'));

    const { result, log } = await publish(t, blob, { paths: ['dist/**', '!dist/**/*.map'], dir });
    t.match(result, { status: 'success', artifacts: 6, workspace: 'unchanged' });
    const manifest = await manifestOf(blob);
    const expected = [
      'dist/app.js',
      'dist/blob.xyz-unknown',
      'dist/data.json',
      'dist/index.html',
      'dist/logo.png',
      'dist/sub/readme.txt',
    ];
    t.same(
      manifest.artifacts.map((a) => a.path),
      expected,
      'sorted by path; no .env, .cache, map, links or directories',
    );
    t.match(manifest, { v: 1, job: 'web', build: 1 });
    for (const entry of manifest.artifacts) {
      const bytes = await readFile(join(dir, entry.path));
      t.equal(entry.sha256, sha256(bytes), `${entry.path}: sha256 of the file`);
      t.equal(entry.size, bytes.length);
      t.equal(entry.step, 'publish');
      const stored = await readBlob(blob, blobKeys.artifact('web', 1, entry.path));
      t.ok(stored.equals(bytes), `${entry.path}: stored bytes`);
      t.equal((await blob.head(blobKeys.artifact('web', 1, entry.path)))?.contentType, entry.contentType);
    }
    const types = Object.fromEntries(manifest.artifacts.map((a) => [a.path, a.contentType]));
    t.match(types, {
      'dist/app.js': /^(text|application)\/javascript; charset=utf-8$/,
      'dist/index.html': 'text/html; charset=utf-8',
      'dist/logo.png': 'image/png',
      'dist/data.json': 'application/json; charset=utf-8',
      'dist/sub/readme.txt': 'text/plain; charset=utf-8',
      'dist/blob.xyz-unknown': 'application/octet-stream',
    });
    t.match(log, /published 6 artifact\(s\)/);
  },
);

t.test('an explicit dot pattern publishes a dotfile', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const { result } = await publish(t, blob, { paths: ['.env.example'], files: { '.env.example': 'A=1\n' } });
  t.match(result, { status: 'success', artifacts: 1 });
  t.same(
    (await manifestOf(blob)).artifacts.map((a) => a.path),
    ['.env.example'],
  );
});

t.test('matching nothing fails the step, unless optional; bad patterns fail clearly', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const none = await publish(t, blob, { paths: ['dist/**'], files: { 'src/a.c': 'int main;' } });
  t.match(none.result, {
    status: 'failure',
    reason: 'exit-code',
    message: /no file in the workspace matches \["dist\/\*\*"\] \(set "optional": true/,
  });
  t.match(none.log, /no file in the workspace matches/);
  t.equal(await blob.head(blobKeys.artifactManifest('web', 1)), null, 'no manifest');

  const optional = await publish(t, blob, { paths: ['dist/**'], optional: true, files: { 'src/a.c': 'x' } });
  t.match(optional.result, { status: 'success', artifacts: 0 });

  for (const [paths, why] of [
    [['../secret'], /'\.\.' segment/],
    [['/etc/passwd'], /absolute/],
    [['dist/../../x'], /'\.\.' segment/],
    [['!dist/**'], /every pattern is an exclusion/],
  ] as const) {
    const bad = await publish(t, blob, { paths: [...paths], files: { 'dist/a': 'a' } });
    t.match(bad.result, { status: 'failure', reason: 'exit-code', message: why }, paths.join(' '));
  }
});

t.test(
  'fencing: a second attempt publishes the same bytes and changes nothing; other content at a published path fails',
  async (t) => {
    const blob = await testDirectoryBlobStore(t);
    const dir = await tempDir(t);
    await writeFiles(dir, { 'out/a.txt': 'a\n', 'out/b.txt': 'b\n' });
    const first = await publish(t, blob, { paths: ['out/*'], dir }, { attempt: 1 });
    t.match(first.result, { status: 'success', artifacts: 2 });
    const before = await blob.head(blobKeys.artifactManifest('web', 1));
    const aBefore = await blob.head(blobKeys.artifact('web', 1, 'out/a.txt'));

    // The zombie (or the resumed attempt): same workspace, same step.
    const again = await publish(t, blob, { paths: ['out/*'], dir }, { attempt: 2 });
    t.match(again.result, { status: 'success', artifacts: 2 });
    t.equal((await blob.head(blobKeys.artifactManifest('web', 1)))?.etag, before?.etag, 'manifest not rewritten');
    t.equal((await blob.head(blobKeys.artifact('web', 1, 'out/a.txt')))?.etag, aBefore?.etag, 'artifact not rewritten');

    // Another step of the same build with other content at out/a.txt.
    const other = await publish(
      t,
      blob,
      { paths: ['out/*'], files: { 'out/a.txt': 'different\n' } },
      { step: 'other' },
    );
    t.match(other.result, {
      status: 'failure',
      reason: 'exit-code',
      message: /'out\/a\.txt' is already published with other content/,
    });
    t.equal(
      (await readBlob(blob, blobKeys.artifact('web', 1, 'out/a.txt'))).toString(),
      'a\n',
      'the first content stays',
    );
    t.equal((await manifestOf(blob)).artifacts.length, 2);
  },
);

t.test(
  'fencing: files an earlier attempt uploaded before it died (no manifest entry yet) are checked byte for byte',
  async (t) => {
    const blob = await testDirectoryBlobStore(t);
    await blob.put(blobKeys.artifact('web', 1, 'late/same.txt'), 'same\n');
    const same = await publish(t, blob, { paths: ['late/*'], files: { 'late/same.txt': 'same\n' } });
    t.match(same.result, { status: 'success', artifacts: 1 }, 'identical bytes: the earlier upload stands');
    t.same(
      (await manifestOf(blob)).artifacts.map((a) => a.path),
      ['late/same.txt'],
    );

    await blob.put(blobKeys.artifact('web', 2, 'late/other.txt'), 'zombie bytes\n');
    const other = await publish(t, blob, { paths: ['late/*'], files: { 'late/other.txt': 'real\n' } }, { build: 2 });
    t.match(other.result, {
      status: 'failure',
      message: new RegExp(
        `'late/other.txt' is already published with other content \\(sha256 ${sha256('zombie bytes\n')}\\)`,
      ),
    });
    t.equal(await blob.head(blobKeys.artifactManifest('web', 2)), null, 'no manifest lists it');
  },
);

t.test('concurrent publish steps of one build all land in the one manifest', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const runs = await Promise.all(
    ['linux', 'mac', 'windows', 'docs'].map((os) =>
      publish(t, blob, { paths: [`${os}/**`], files: { [`${os}/app-${os}.bin`]: `${os} build` } }, { step: os }),
    ),
  );
  for (const run of runs) t.match(run.result, { status: 'success', artifacts: 1 });
  const manifest = await manifestOf(blob);
  t.same(
    manifest.artifacts.map((a) => [a.path, a.step]),
    [
      ['docs/app-docs.bin', 'docs'],
      ['linux/app-linux.bin', 'linux'],
      ['mac/app-mac.bin', 'mac'],
      ['windows/app-windows.bin', 'windows'],
    ],
  );
});

t.test('s3: 200 files of 10 KB published to the real Ceph RGW', async (t) => {
  const blob = testS3BlobStore(t);
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 200; i++) files[`dist/part-${String(i).padStart(3, '0')}.bin`] = Buffer.alloc(10_240, i);
  const run = await publish(t, blob, { paths: ['dist/**'], files });
  t.match(run.result, { status: 'success', artifacts: 200 });
  const manifest = await manifestOf(blob);
  t.equal(manifest.artifacts.length, 200);
  for (const entry of manifest.artifacts) {
    t.equal(entry.sha256, sha256(files[entry.path]!), entry.path);
  }
  const again = await publish(t, blob, { paths: ['dist/**'], dir: run.dir }, { attempt: 2 });
  t.match(again.result, { status: 'success', artifacts: 200 });
  t.comment(
    `publish 200 x 10 KB to RGW: ${run.ms.toFixed(0)} ms; again as a second attempt: ${again.ms.toFixed(0)} ms`,
  );
});
