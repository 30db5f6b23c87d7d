/**
 * Secrets through the API on the real Ceph RGW: set, replace, list, remove; no answer and no stored
 * object holds the value (read raw); a frontend without a key refuses to set one and writes nothing.
 */

import { randomBytes } from 'node:crypto';
import { listAll, readBlob, SECRETS_KEY_BYTES, secretsKeyOf } from '@distci/common';
import t from 'tap';
import { AUTH, realStorage, testFrontend, testOptions } from '../helpers/frontend.js';

const VALUE = `s3cr3t-${randomBytes(12).toString('hex')}`;

t.test('set, replace, list and remove a secret; the value is nowhere in clear', async (t) => {
  const storage = realStorage(t);
  const secretsKey = secretsKeyOf(randomBytes(SECRETS_KEY_BYTES));
  const { app, blob } = await testFrontend(t, storage, testOptions({ secretsKey }));
  const answers: string[] = [];
  const put = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'PUT', url: '/api/v1/secrets/NPM_TOKEN', headers: AUTH, payload });
    answers.push(res.body);
    return res;
  };
  const first = await put({ value: VALUE, jobs: ['web-*'] });
  t.equal(first.statusCode, 201);
  t.match(first.json(), { name: 'NPM_TOKEN', jobs: ['web-*'], createdBy: /^token:/ });
  const second = await put({ value: `${VALUE}-2` });
  t.equal(second.statusCode, 200, 'a replace');
  t.equal(second.json().jobs, null, 'the scope is what the replace says');
  t.equal(second.json().createdAt, first.json().createdAt, 'created stays');
  const list = await app.inject({ method: 'GET', url: '/api/v1/secrets', headers: AUTH });
  answers.push(list.body);
  t.same(
    list.json().secrets.map((s: { name: string }) => s.name),
    ['NPM_TOKEN'],
  );
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/secrets' })).statusCode, 401, 'the list needs a token');
  const bad = await put({ value: VALUE, jobs: ['Web/*'] });
  t.equal(bad.statusCode, 400, 'a bad job pattern');
  for (const body of answers) t.notOk(body.includes(VALUE), 'no answer holds the value');

  for await (const info of listAll(blob)) {
    const raw = await readBlob(blob, info.key);
    for (const form of [VALUE, Buffer.from(VALUE).toString('base64')]) {
      t.notOk(raw.includes(form) || info.key.includes(form), `${info.key} holds no form of the value`);
    }
  }
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/secrets/NPM_TOKEN', headers: AUTH })).statusCode, 204);
  const gone = await app.inject({ method: 'DELETE', url: '/api/v1/secrets/NPM_TOKEN', headers: AUTH });
  t.equal(gone.json().code, 'DISTCI_SECRET_NOT_FOUND');
  const badName = await app.inject({
    method: 'PUT',
    url: '/api/v1/secrets/1BAD',
    headers: AUTH,
    payload: { value: 'x' },
  });
  t.equal(badName.statusCode, 400);
});

t.test('a frontend without a secrets key refuses to set one, and writes nothing', async (t) => {
  const storage = realStorage(t);
  const { app, blob } = await testFrontend(t, storage);
  const res = await app.inject({ method: 'PUT', url: '/api/v1/secrets/X', headers: AUTH, payload: { value: 'v' } });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'DISTCI_SECRETS_DISABLED');
  const keys: string[] = [];
  for await (const info of listAll(blob)) keys.push(info.key);
  t.same(keys, []);
});
