/** Writes and 404s are rate limited per client; reads of existing routes are not. */
import t from 'tap';
import { AUTH, embeddedStorage, jobConfig, testFrontend, testOptions } from '../helpers/frontend.js';

t.test('rate limits', async (t) => {
  const { app } = await testFrontend(
    t,
    await embeddedStorage(t),
    testOptions({ rateLimits: { writesPerMinute: 3, notFoundPerMinute: 2 } }),
  );
  const writes = [];
  for (let i = 0; i < 4; i++) {
    writes.push(await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig(`j${i}`) }));
  }
  t.same(
    writes.map((r) => r.statusCode),
    [201, 201, 201, 429],
  );
  t.equal(writes[3]!.json().code, 'DISTCI_RATE_LIMITED');
  t.ok(Number(writes[3]!.headers['retry-after']) > 0, 'Retry-After');
  // Unauthenticated writes count too (token guessing is slowed before auth).
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/jobs/j0' })).statusCode, 429);
  const lost = [];
  for (let i = 0; i < 3; i++) lost.push((await app.inject({ method: 'GET', url: `/nope/${i}` })).statusCode);
  t.same(lost, [404, 404, 429]);
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs' })).statusCode, 200);
});
