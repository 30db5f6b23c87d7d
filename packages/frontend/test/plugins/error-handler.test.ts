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

  const notJson = await app.inject({
    method: 'POST',
    url: '/api/v1/jobs/web/builds',
    headers: { ...AUTH, 'content-type': 'application/json' },
    payload: '{"ref": ',
  });
  t.equal(notJson.statusCode, 400);
  t.equal(notJson.json().code, 'DISTCI_BAD_REQUEST');

  const media = await app.inject({
    method: 'POST',
    url: '/api/v1/jobs',
    headers: { ...AUTH, 'content-type': 'text/yaml' },
    payload: 'name: web',
  });
  t.equal(media.statusCode, 415);
  t.equal(media.json().code, 'DISTCI_UNSUPPORTED_MEDIA_TYPE');

  const large = await app.inject({
    method: 'POST',
    url: '/api/v1/jobs',
    headers: AUTH,
    payload: { name: 'web', steps: [], description: 'x'.repeat(1024 * 1024) },
  });
  t.equal(large.statusCode, 413);
  t.equal(large.json().code, 'DISTCI_BODY_TOO_LARGE');

  const missing = await app.inject({ method: 'GET', url: '/api/v2/anything' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'DISTCI_NOT_FOUND');
});
