/**
 * Workspace archives: a faithful round trip (files, links inside, empty dirs, many files), and
 * extraction that refuses crafted archives reaching outside the workspace (invariant 9) — absolute
 * paths, `..`, hard links to outside, a file or hard link written through a link, devices — while links
 * pointing outside (a venv's `python -> /usr/bin/python3`) are restored as they are —
 * made byte by byte with the `tar` package's header encoder, as an attacker would.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { blobKeys } from '@distci/common';
import t, { type Test } from 'tap';
import * as tar from 'tar';
import { refuseEntry, restoreWorkspaces, storeWorkspace } from '../../src/steps/workspace.js';
import { testDirectoryBlobStore, testS3BlobStore } from '../helpers/blob-stores.js';
import { tempDir } from '../helpers/step-context.js';
import { treeOf } from '../helpers/tree.js';

interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  linkpath?: string;
  body?: string;
}

/** A gzipped tar archive exactly as described: no normalisation, no safety. */
function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const header = new tar.Header({
      path: e.path,
      type,
      linkpath: e.linkpath,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: type === 'File' ? body.length : 0,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    header.encode();
    blocks.push(header.block!);
    if (type === 'File' && body.length) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A workspace dir inside a parent dir, so that "outside" is observable. */
async function sandbox(t: Test) {
  const parent = await tempDir(t, 'distci-sandbox-');
  const ws = join(parent, 'ws');
  await mkdir(ws);
  return { parent, ws };
}

t.test('a workspace round-trips: files, nested dirs, empty dirs, links inside, 500 files', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const src = await tempDir(t);
  for (let i = 0; i < 500; i++) await writeFile(join(src, `f${i}.txt`), `${i}`.repeat(2000));
  await mkdir(join(src, 'a/b/c'), { recursive: true });
  await mkdir(join(src, 'empty'));
  await writeFile(join(src, 'a/b/c/deep.bin'), Buffer.from([0, 1, 2, 3, 255]));
  await writeFile(join(src, '.hidden'), 'dot files travel too');
  await symlink('b/c/deep.bin', join(src, 'a/link'));
  const key = blobKeys.workspace('web', 1, 'build', 1);
  const size = await storeWorkspace(blob, src, key);
  t.ok(size > 0, `archive is ${size} bytes`);
  t.equal((await blob.head(key))?.size, size, 'the returned size is the stored size');
  const dest = await tempDir(t);
  await restoreWorkspaces(blob, [key], dest);
  t.same(await treeOf(dest), await treeOf(src));
  t.same(await readdir(join(dest, 'empty')), []);
});

t.test('later workspaces overwrite earlier files', async (t) => {
  const blob = await testDirectoryBlobStore(t);
  const one = await tempDir(t);
  const two = await tempDir(t);
  await writeFile(join(one, 'x'), 'one');
  await writeFile(join(one, 'only-one'), '1');
  await writeFile(join(two, 'x'), 'two');
  await storeWorkspace(blob, one, 'w/1');
  await storeWorkspace(blob, two, 'w/2');
  const dest = await tempDir(t);
  await restoreWorkspaces(blob, ['w/1', 'w/2'], dest);
  t.same(Object.keys(await treeOf(dest)), ['only-one', 'x']);
  t.same(await treeOf(dest), { 'only-one': (await treeOf(one))['only-one'], x: (await treeOf(two)).x });
});

const crafted: Array<[string, RawEntry[], RegExp]> = [
  ['an absolute path', [{ path: '/tmp/distci-evil.txt', body: 'x' }], /absolute path/],
  ['a ".." segment', [{ path: '../evil.txt', body: 'x' }], /'\.\.' segment/],
  ['a ".." inside a path', [{ path: 'a/../../evil.txt', body: 'x' }], /'\.\.' segment/],
  [
    'a file written through an escaping symlink',
    [
      { path: 'dir', type: 'SymbolicLink', linkpath: '..' },
      { path: 'dir/evil.txt', body: 'x' },
    ],
    /'dir\/evil.txt' would be written through the symlink 'dir'/,
  ],
  [
    'a file written through an absolute symlink, deeper down',
    [
      { path: 'a', type: 'Directory' },
      { path: 'a/out', type: 'SymbolicLink', linkpath: '/tmp' },
      { path: 'a/out/distci-evil.txt', body: 'x' },
    ],
    /through the symlink 'a\/out'/,
  ],
  [
    'a directory entry replacing a symlink, then a file below it',
    [
      { path: 'd', type: 'SymbolicLink', linkpath: '/tmp' },
      { path: 'd', type: 'Directory' },
      { path: 'd/distci-evil.txt', body: 'x' },
    ],
    /repeats a symlink's path/,
  ],
  [
    'a hard link through a symlink',
    [
      { path: 'etc', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'hard', type: 'Link', linkpath: 'etc/passwd' },
    ],
    /'hard' would be written through the symlink 'etc'/,
  ],
  ['a hard link to outside', [{ path: 'hard', type: 'Link', linkpath: '../evil.txt' }], /'\.\.' segment|hard link/],
  ['a character device', [{ path: 'dev', type: 'CharacterDevice' }], /is a CharacterDevice/],
  ['a FIFO', [{ path: 'fifo', type: 'FIFO' }], /is a FIFO/],
];

for (const [what, entries, message] of crafted) {
  t.test(`restoreWorkspaces refuses ${what} and writes nothing outside`, async (t) => {
    const blob = await testDirectoryBlobStore(t);
    const { parent, ws } = await sandbox(t);
    await blob.put('crafted', rawTar(entries));
    await t.rejects(restoreWorkspaces(blob, ['crafted'], ws), { code: 'DISTCI_BAD_PATH', message });
    t.same(await readdir(parent), ['ws'], 'nothing appeared beside the workspace');
    t.notOk(existsSync('/tmp/distci-evil.txt'), 'nor at the absolute path');
  });
}

t.test(
  "links pointing outside are restored as they are (a venv's python), and nothing is written through them",
  async (t) => {
    const blob = await testDirectoryBlobStore(t);
    const src = await tempDir(t);
    await mkdir(join(src, 'venv/bin'), { recursive: true });
    await symlink('/usr/bin/python3', join(src, 'venv/bin/python'));
    await symlink('../../..', join(src, 'venv/bin/up'));
    await symlink(join(src, 'venv'), join(src, 'abs-inside'));
    await storeWorkspace(blob, src, 'ws/venv');
    const { parent, ws } = await sandbox(t);
    await restoreWorkspaces(blob, ['ws/venv'], ws);
    t.equal(await readlink(join(ws, 'venv/bin/python')), '/usr/bin/python3', 'absolute, as it was');
    t.equal(await readlink(join(ws, 'venv/bin/up')), '../../..');
    t.equal(await readlink(join(ws, 'abs-inside')), join(src, 'venv'));
    // A second workspace restored into the same dir may not write through the first one's link.
    await blob.put('crafted', rawTar([{ path: 'venv/bin/up/distci-evil.txt', body: 'x' }]));
    await t.rejects(restoreWorkspaces(blob, ['crafted'], ws), {
      code: 'DISTCI_BAD_PATH',
      message: /through the symlink 'venv\/bin\/up'/,
    });
    t.same(await readdir(parent), ['ws'], 'nothing appeared beside the workspace');
  },
);

t.test('refuseEntry accepts what distci writes: relative files, links inside', async (t) => {
  const root = '/w';
  t.equal(refuseEntry(root, { path: 'a/b.txt', type: 'File' }), null);
  t.equal(refuseEntry(root, { path: 'a/', type: 'Directory' }), null);
  t.equal(refuseEntry(root, { path: 'a/link', type: 'SymbolicLink', linkpath: '../b.txt' }), null);
  t.equal(refuseEntry(root, { path: 'a/hard', type: 'Link', linkpath: 'a/b.txt' }), null);
  t.equal(
    refuseEntry(root, { path: 'a/link', type: 'SymbolicLink', linkpath: '../../x' }),
    null,
    'a link may point anywhere',
  );
  t.equal(refuseEntry(root, { path: 'a/py', type: 'SymbolicLink', linkpath: '/usr/bin/python3' }), null);
});

t.test('s3: a workspace round-trips through the real Ceph RGW, and a crafted one is refused there too', async (t) => {
  const blob = testS3BlobStore(t);
  const src = await tempDir(t);
  for (let i = 0; i < 100; i++) await writeFile(join(src, `f${i}.txt`), `${i}`.repeat(10_000));
  await storeWorkspace(blob, src, 'ws/1');
  const dest = await tempDir(t);
  await restoreWorkspaces(blob, ['ws/1'], dest);
  t.same(await treeOf(dest), await treeOf(src));
  const { parent, ws } = await sandbox(t);
  await blob.put(
    'crafted',
    rawTar([
      { path: 'link', type: 'SymbolicLink', linkpath: '..' },
      { path: 'link/evil.txt', body: 'x' },
    ]),
  );
  await t.rejects(restoreWorkspaces(blob, ['crafted'], ws), { code: 'DISTCI_BAD_PATH' });
  t.same(await readdir(parent), ['ws']);
});
