/** The dev token: made once, 0600, the same on every later start, and one winner under a race. */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loadOrCreateToken, readToken } from '../src/token.js';
import { tempDir } from './helpers/cli-process.js';

t.test('made once, kept, owner-only', async (t) => {
  const dir = join(await tempDir(t), 'data');
  t.equal(await readToken(dir), null);
  const first = await loadOrCreateToken(dir);
  t.ok(first.created);
  t.match(first.token, /^dci_[A-Za-z0-9_-]{43}$/);
  t.equal((await stat(join(dir, 'token'))).mode & 0o777, 0o600);
  const again = await loadOrCreateToken(dir);
  t.same(again, { token: first.token, created: false });
});

t.test('concurrent starts agree on one token', async (t) => {
  const dir = await tempDir(t);
  const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateToken(dir)));
  t.equal(new Set(all.map((a) => a.token)).size, 1);
  t.equal(all.filter((a) => a.created).length, 1);
});

t.test('a loosened file is made owner-only again', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'token'), 'dci_existing-token-value\n', { mode: 0o644 });
  t.same(await loadOrCreateToken(dir), { token: 'dci_existing-token-value', created: false });
  t.equal((await stat(join(dir, 'token'))).mode & 0o777, 0o600);
});
