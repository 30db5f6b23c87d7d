/**
 * Scoped tokens on the real ZooKeeper and Ceph RGW: an admin makes tokens with a role and job
 * patterns; a read token cannot trigger, a trigger token triggers but cannot set secrets or change
 * jobs, a job-limited token only reaches its jobs; the stored record holds no token; a removed token
 * stops working at once.
 */
import { blobKeys, listAll, readBlob } from '@distci/common';
import t from 'tap';
import { AUTH, jobConfig, realStorage, testFrontend } from '../helpers/frontend.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('roles and job patterns of tokens made through the API', async (t) => {
  const storage = realStorage(t);
  const { app, blob } = await testFrontend(t, storage);
  for (const name of ['web', 'api']) {
    t.equal(
      (await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig(name) })).statusCode,
      201,
    );
  }
  const make = async (payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: AUTH, payload });
    t.equal(res.statusCode, 201, JSON.stringify(payload));
    return res.json() as { token: string; id: string; role: string };
  };
  const read = await make({ role: 'read', description: 'dashboards' });
  const trigger = await make({ role: 'trigger' });
  const webOnly = await make({ role: 'admin', jobs: ['we*'] });

  const triggerAs = (token: string, job = 'web') =>
    app.inject({ method: 'POST', url: `/api/v1/jobs/${job}/builds`, headers: bearer(token), payload: {} });
  const readOnly = await triggerAs(read.token);
  t.equal(readOnly.statusCode, 403, 'a read token cannot trigger');
  t.equal(readOnly.json().code, 'DISTCI_FORBIDDEN');
  t.match(readOnly.json().message, /needs a trigger token; this one is read/);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web', headers: bearer(read.token) })).statusCode, 200);

  t.equal((await triggerAs(trigger.token)).statusCode, 201, 'a trigger token triggers');
  const setSecret = await app.inject({
    method: 'PUT',
    url: '/api/v1/secrets/NPM_TOKEN',
    headers: bearer(trigger.token),
    payload: { value: 'v' },
  });
  t.equal(setSecret.statusCode, 403, 'a trigger token cannot set secrets');
  t.equal(setSecret.json().code, 'DISTCI_FORBIDDEN');
  const editJob = await app.inject({
    method: 'PUT',
    url: '/api/v1/jobs/web',
    headers: bearer(trigger.token),
    payload: jobConfig('web'),
  });
  t.equal(editJob.statusCode, 403, 'a trigger token cannot change a job config');

  t.equal((await triggerAs(webOnly.token, 'web')).statusCode, 201, 'a job-limited admin token reaches its job');
  const other = await triggerAs(webOnly.token, 'api');
  t.equal(other.statusCode, 403, '… and not another');
  t.match(other.json().message, /for jobs we\*, not 'api'/);
  const tokens = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(webOnly.token) });
  t.equal(tokens.statusCode, 403, 'a job-limited token cannot manage tokens');

  // The store keeps the sha256 of each token, never the token.
  const keys: string[] = [];
  for await (const info of listAll(blob, { prefix: blobKeys.tokensPrefix() })) keys.push(info.key);
  t.equal(keys.length, 3);
  for (const key of keys) {
    const raw = (await readBlob(blob, key)).toString('utf8');
    for (const made of [read, trigger, webOnly]) t.notOk(raw.includes(made.token) || key.includes(made.token));
  }
  const list = (await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: AUTH })).json();
  t.same(
    list.tokens.map((x: { role: string }) => x.role),
    ['read', 'trigger', 'admin'],
  );
  t.notOk(JSON.stringify(list).includes(read.token), 'the list shows no token');

  const rm = await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${trigger.id}`, headers: AUTH });
  t.equal(rm.statusCode, 204);
  t.equal((await triggerAs(trigger.token)).statusCode, 401, 'a removed token stops working at once');
  const again = await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${trigger.id}`, headers: AUTH });
  t.equal(again.json().code, 'DISTCI_TOKEN_NOT_FOUND');
});

t.test('a token made on one frontend works on another (shared store)', async (t) => {
  const storage = realStorage(t);
  const a = await testFrontend(t, storage);
  const b = await testFrontend(t, storage);
  await b.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: bearer('dci_not-a-token-0123456789') });
  const made = (
    await a.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: AUTH, payload: { role: 'admin' } })
  ).json();
  const res = await b.app.inject({
    method: 'POST',
    url: '/api/v1/jobs',
    headers: bearer(made.token),
    payload: jobConfig('x'),
  });
  // b read the token list for the bad token just now; an unknown token re-reads it after MISS_REFRESH_MS.
  if (res.statusCode === 401) {
    await new Promise((r) => setTimeout(r, 1100)); // MISS_REFRESH_MS: a time limit, not an event to wait for
    const retry = await b.app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: bearer(made.token),
      payload: jobConfig('x'),
    });
    t.equal(retry.statusCode, 201, 'within a second');
  } else t.equal(res.statusCode, 201);
});
