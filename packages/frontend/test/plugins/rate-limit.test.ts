/**
 * Writes and 404s are rate limited per client (a valid token, else an IP); reads of existing routes
 * are not. A flood of bad tokens from one IP does not lock out a valid token used from that IP.
 */
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
  // Unauthenticated writes count too (token guessing is slowed before auth), in the IP's own budget.
  const guesses = [];
  for (let i = 0; i < 4; i++) {
    const headers = { authorization: `Bearer wrong-token-${i}-0123456789` };
    guesses.push((await app.inject({ method: 'DELETE', url: '/api/v1/jobs/j0', headers })).statusCode);
  }
  t.same(guesses, [401, 401, 401, 429]);
  const lost = [];
  for (let i = 0; i < 3; i++) lost.push((await app.inject({ method: 'GET', url: `/nope/${i}` })).statusCode);
  t.same(lost, [404, 404, 429]);
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs' })).statusCode, 200);
});

t.test('300 bad-token writes from one IP do not lock out a valid token from that IP', async (t) => {
  const { app } = await testFrontend(
    t,
    await embeddedStorage(t),
    testOptions({ rateLimits: { writesPerMinute: 300, notFoundPerMinute: 60 } }),
  );
  const codes = new Map<number, number>();
  for (let i = 0; i < 301; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/jobs',
      headers: { authorization: `Bearer guess-${i}-0123456789abcdef` },
      payload: jobConfig('x'),
    });
    codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1);
  }
  t.same(Object.fromEntries(codes), { 401: 300, 429: 1 }, 'the guesses are refused, then limited');
  const valid = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('ok') });
  t.equal(valid.statusCode, 201, 'the valid token still writes: its requests count apart');
});
