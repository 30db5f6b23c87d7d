/** One error shape: distci codes as they are, validation as DISTCI_BAD_REQUEST, every 5xx without internals. */
import { distciError } from '@distci/common';
import t from 'tap';
import { createFrontend } from '../../src/create-frontend.js';
import { AUTH, embeddedStorage, testOptions } from '../helpers/frontend.js';

t.test('error answers', async (t) => {
  const storage = await embeddedStorage(t);
  const store = await storage.connect();
  const app = await createFrontend({ storage: { store, blob: storage.blob }, options: testOptions(), logger: false });
  t.teardown(async () => {
    await app.close();
    await store.close();
  });
  app.get('/boom', async () => {
    throw new Error('secret internal detail at /var/lib/distci');
  });
  app.get('/lost', async () => {
    throw distciError('DISTCI_CONNECTION_LOSS', 'connection to 10.0.0.7:2181 lost during multi');
  });
  await app.ready();

  const boom = await app.inject({ method: 'GET', url: '/boom' });
  t.equal(boom.statusCode, 500);
  const body = boom.json();
  t.equal(body.code, 'DISTCI_INTERNAL');
  t.match(body.requestId, /^[0-9a-f-]{36}$/);
  t.match(body.message, body.requestId);
  t.notMatch(boom.body, /secret|var\/lib|stack/);

  const lost = await app.inject({ method: 'GET', url: '/lost' });
  t.equal(lost.statusCode, 503);
  t.equal(lost.json().code, 'DISTCI_CONNECTION_LOSS');
  t.notMatch(lost.body, /10\.0\.0\.7/);

  const invalid = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds?limit=1000' });
  t.equal(invalid.statusCode, 400);
  t.match(invalid.json(), {
    code: 'DISTCI_BAD_REQUEST',
    message: 'querystring/limit must be <= 100',
    details: {
      part: 'querystring',
      problems: [{ path: 'querystring/limit', schemaPath: '#/properties/limit/maximum' }],
    },
  });

  // Bodies refused before any route runs: not JSON, another media type, over the limit.
  const refused = [
    {
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: '{"ref": ',
      status: 400,
      code: 'DISTCI_BAD_REQUEST',
    },
    {
      headers: { ...AUTH, 'content-type': 'text/yaml' },
      payload: 'name: web',
      status: 415,
      code: 'DISTCI_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      headers: AUTH,
      payload: { name: 'web', steps: [], description: 'x'.repeat(1024 * 1024) },
      status: 413,
      code: 'DISTCI_BODY_TOO_LARGE',
    },
  ];
  for (const [i, c] of refused.entries()) {
    const url = i === 0 ? '/api/v1/jobs/web/builds' : '/api/v1/jobs';
    const res = await app.inject({ method: 'POST', url, headers: c.headers, payload: c.payload });
    t.equal(res.statusCode, c.status, c.code);
    t.equal(res.json().code, c.code);
  }

  const missing = await app.inject({ method: 'GET', url: '/api/v2/anything' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'DISTCI_NOT_FOUND');
});
