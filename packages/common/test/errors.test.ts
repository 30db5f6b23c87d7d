import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@distci/testkit';
import t from 'tap';
import { coerceError, DistciError, distciError, ERROR_CODES, isDistciError } from '../src/errors.js';

t.test('docs/errors.md lists every error code with its status, and no code that does not exist', async (t) => {
  const doc = readFileSync(join(repoRoot, 'docs/errors.md'), 'utf8');
  const rows = new Map<string, number>();
  for (const m of doc.matchAll(/^\|\s*`(DISTCI_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) rows.set(m[1]!, Number(m[2]));
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    t.ok(rows.has(code), `${code} is documented in docs/errors.md`);
    if (rows.has(code)) t.equal(rows.get(code), status, `${code}: documented status`);
  }
  for (const code of rows.keys()) t.ok(code in ERROR_CODES, `${code} in the docs exists in ERROR_CODES`);
});

t.test('errors carry code, status, hint and details, and are recognised by code', async (t) => {
  const err = distciError('DISTCI_NO_NODE', "node '/x' does not exist", {
    hint: 'create it first',
    details: { path: '/x' },
  });
  t.ok(err instanceof DistciError);
  t.equal(err.code, 'DISTCI_NO_NODE');
  t.equal(err.status, 404);
  t.equal(err.message, "node '/x' does not exist — create it first");
  t.same(err.toJSON(), { code: 'DISTCI_NO_NODE', message: err.message, details: { path: '/x' } });
  t.ok(isDistciError(err, 'DISTCI_NO_NODE'));
  t.notOk(isDistciError(err, 'DISTCI_NODE_EXISTS'));
  // Across realms (e.g. a plain object from another process), the code is what counts.
  t.ok(isDistciError({ code: 'DISTCI_BAD_VERSION', message: 'x' }, 'DISTCI_BAD_VERSION'));
  t.notOk(isDistciError({ code: 'ENOENT' }));
  t.notOk(isDistciError(null));
  t.equal(distciError('DISTCI_BLOB_CONFLICT', 'x', { status: 409 }).status, 409);
});

t.test('coerceError turns anything thrown into an Error', async (t) => {
  t.equal(coerceError('boom').message, 'boom');
  t.equal(coerceError({ message: 'obj' }).message, 'obj');
  const e = new Error('same');
  t.equal(coerceError(e), e);
  t.equal(coerceError(undefined).message, 'undefined');
});
