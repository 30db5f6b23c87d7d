/** Bearer tokens on every write, reads public unless configured, and the webhook's own signature. */
import t from 'tap';
import { tokenDigest } from '../../src/frontend-options.js';
import { authenticate } from '../../src/plugins/auth.js';
import { AUTH, embeddedStorage, jobConfig, TOKEN, testFrontend, testOptions } from '../helpers/frontend.js';
import { WRITE_ROUTES } from '../helpers/routes.js';
import { dumpState } from '../helpers/state-dump.js';

t.test('authenticate: only a listed token, compared by digest', async (t) => {
  const digests = [tokenDigest('another-token-0123456789'), tokenDigest(TOKEN)];
  t.match(authenticate(`Bearer ${TOKEN}`, digests), /^token:[0-9a-f]{8}$/);
  t.equal(authenticate(`bearer   ${TOKEN}`, digests), authenticate(`Bearer ${TOKEN}`, digests));
  t.not(authenticate('Bearer another-token-0123456789', digests), authenticate(`Bearer ${TOKEN}`, digests));
  for (const header of [
    undefined,
    '',
    'Bearer',
    `Basic ${TOKEN}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Bearer ${TOKEN} extra`,
  ]) {
    t.equal(authenticate(header, digests), null, String(header));
  }
  t.equal(authenticate(`Bearer ${TOKEN}`, []), null);
});

t.test('the list of write routes is every write route of the OpenAPI document', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
  const writes: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops))
      if (method !== 'get' && method !== 'head') writes.push(`${method.toUpperCase()} ${path}`);
  }
  t.same(writes.sort(), WRITE_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
});

t.test('writes without a valid token: 401 with a hint, and nothing changes', async (t) => {
  const storage = await embeddedStorage(t);
  const { app, store, blob } = await testFrontend(t, storage);
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') })).statusCode,
    201,
  );
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/jobs/web/builds', headers: AUTH })).statusCode, 201);
  const before = await dumpState(store, blob);
  for (const route of WRITE_ROUTES.filter((r) => r.auth === 'token')) {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
      const res = await app.inject({ method: route.method, url: route.url, headers, payload: jobConfig('web') });
      t.equal(res.statusCode, 401, `${route.method} ${route.url} ${JSON.stringify(headers)}`);
      t.equal(res.json().code, 'DISTCI_UNAUTHORIZED');
      t.match(res.json().message, /Authorization: Bearer <token>/);
      t.equal(res.headers['www-authenticate'], 'Bearer realm="distci"');
    }
  }
  const webhook = await app.inject({ method: 'POST', url: '/api/v1/webhooks/github', headers: AUTH, payload: {} });
  t.equal(webhook.statusCode, 401, 'a token does not replace the webhook signature');
  t.equal(webhook.json().code, 'DISTCI_BAD_SIGNATURE');
  t.same(await dumpState(store, blob), before);
});

t.test(
  'reads are public by default; DISTCI_READ_AUTH=token guards them (not health or the API document)',
  async (t) => {
    const storage = await embeddedStorage(t);
    const open = await testFrontend(t, storage);
    t.equal((await open.app.inject({ method: 'GET', url: '/api/v1/jobs' })).statusCode, 200);
    t.equal((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
    const closed = await testFrontend(t, storage, testOptions({ readAuth: 'token' }));
    for (const url of [
      '/api/v1/jobs',
      '/api/v1/jobs/web',
      '/api/v1/queue',
      '/api/v1/workers',
      '/metrics',
      '/api/v1/jobs/web/builds/1/events',
    ]) {
      const res = await closed.app.inject({ method: 'GET', url });
      t.equal(res.statusCode, 401, url);
    }
    t.equal((await closed.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: AUTH })).statusCode, 200);
    for (const url of ['/healthz', '/readyz', '/api/v1/openapi.json']) {
      t.equal((await closed.app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
  },
);

t.test('a frontend without tokens refuses every write and says how to configure one', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t), testOptions({ tokens: [] }));
  const res = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') });
  t.equal(res.statusCode, 401);
  t.match(res.json().message, /accepts no tokens: configure DISTCI_TOKENS or DISTCI_TOKENS_FILE/);
});
