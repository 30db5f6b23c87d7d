/** /healthz answers while the process runs; /readyz only while both stores answer. */
import t from 'tap';
import { createFrontend } from '../../src/create-frontend.js';
import { embeddedStorage, testOptions } from '../helpers/frontend.js';

t.test('health and readiness', async (t) => {
  const storage = await embeddedStorage(t);
  const store = await storage.connect();
  const app = await createFrontend({ storage: { store, blob: storage.blob }, options: testOptions(), logger: false });
  t.teardown(() => app.close());
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { ok: true });
  t.same((await app.inject({ method: 'GET', url: '/readyz' })).json(), {
    ok: true,
    coordination: 'connected',
    objectStore: 'ok',
  });
  await store.close();
  const res = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(res.statusCode, 503);
  t.match(res.json(), { code: 'DISTCI_NOT_READY', details: { coordination: 'closed', objectStore: 'ok' } });
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
