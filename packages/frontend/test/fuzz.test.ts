/**
 * Invariant 9 under fire: 1,000 malformed requests per write route (fast-check) — bodies that are not
 * JSON, JSON of the wrong shape, undeclared fields, wrong content types, junk tokens, ETags, event ids
 * and signatures, path parameters that are not names — on real ZooKeeper + Ceph RGW. No answer is a
 * 5xx, every answer is a distci error, and the namespace (every znode of the chroot, every object of
 * the key prefix) is the same afterwards.
 *
 * Each request is malformed by construction, never by luck: a JSON object body always carries an
 * undeclared field, and a route whose well-formed call would change something (DELETE of the one job,
 * cancel of a live build) is only ever aimed at names that do not exist.
 */
import fc from 'fast-check';
import t from 'tap';
import { signPayload } from '../src/github/signature.js';
import { AUTH, jobConfig, realStorage, SECRET, TOKEN, testFrontend } from './helpers/frontend.js';
import { WRITE_ROUTES } from './helpers/routes.js';
import { dumpState } from './helpers/state-dump.js';

/** 1,000 per write route, as the issue asks. */
const RUNS_PER_ROUTE = 1000;

/** Header values an HTTP client can send at all (printable ASCII). */
const headerValue = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom('', '*', '"', 'W/"x"', '"a", "b"', '-1', '1e99', 'null', 'Bearer', `Bearer ${TOKEN}x`, 'sha256='),
);
const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '..',
    '.',
    '%2e%2e',
    '%2F..',
    '..%2F..',
    '\\',
    'a/b',
    'WEB',
    '-web',
    'web ',
    `${'a'.repeat(300)}`,
  ),
);
const segment = junk.map((s) => (fc.sample(fc.boolean(), 1)[0] ? encodeURIComponent(s) : s.replace(/[?#\s]/g, '')));

/** A body that no route accepts: not JSON, or JSON that breaks every schema. */
const body = fc.oneof(
  fc.string({ maxLength: 200 }).map((raw) => ({ raw })),
  fc
    .constantFrom('{', '{"name":', '[1,', 'nul', '\u0000', '{"a":1}{"b":2}', `{"x":"${'y'.repeat(2000)}"`)
    .map((raw) => ({ raw })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({
    json: v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...v, __fuzz__: true } : v === null ? [] : v,
  })),
  fc.constantFrom(
    { json: { ...jobConfig('web'), __fuzz__: 1 } },
    { json: { ...jobConfig('other'), steps: 'x' } },
    { json: { ref: 42 } },
    { json: { ref: 'main', params: { 'no spaces': 'x' } } },
    { json: { params: { A: 1 } } },
    { json: [] },
  ),
);

const request = fc.record({
  route: fc.constantFrom(...WRITE_ROUTES),
  job: fc.oneof(fc.constant('web'), segment),
  n: fc.oneof(fc.constantFrom('1', '2', '0', '-1', '1.5', 'abc', '99999999999', '1e3', ''), segment),
  step: segment,
  body,
  // Mostly authenticated JSON, so that most requests get past auth and parsing into validation.
  token: fc.oneof(
    { arbitrary: fc.constant(`Bearer ${TOKEN}`), weight: 4 },
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: headerValue, weight: 1 },
  ),
  contentType: fc.oneof(
    { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      ),
      weight: 1,
    },
    { arbitrary: headerValue, weight: 1 },
  ),
  extra: fc.record(
    {
      'if-match': headerValue,
      'last-event-id': headerValue,
      'x-github-event': fc.oneof(fc.constantFrom('push', 'pull_request', 'ping'), headerValue),
      'x-github-delivery': headerValue,
      'x-hub-signature-256': headerValue,
    },
    { requiredKeys: [] },
  ),
  signBody: fc.boolean(),
});

type Sample = typeof request extends fc.Arbitrary<infer T> ? T : never;

function urlOf(s: Sample): string {
  // DELETE and cancel of real things would change state when well-formed: aim them only at nothing.
  const job = s.route.method === 'DELETE' && s.job === 'web' ? 'gone' : s.job;
  return s.route.url
    .replace('/jobs/web', `/jobs/${job}`)
    .replace('/builds/1', `/builds/${s.n === '1' && s.route.url.endsWith('/cancel') ? '2' : s.n}`)
    .replace('/steps/build/', `/steps/${s.step}/`);
}

t.test('malformed requests at every write route: no 5xx, no state change', async (t) => {
  const storage = realStorage(t);
  const { app, store, blob } = await testFrontend(t, storage);
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: jobConfig('web') })).statusCode,
    201,
  );
  const before = await dumpState(store, blob);
  const statuses = new Map<number, number>();
  const t0 = performance.now();
  let total = 0;
  for (const route of WRITE_ROUTES) {
    await fc.assert(
      fc.asyncProperty(request, async (sample) => {
        const s = { ...sample, route };
        const payload = 'raw' in s.body ? s.body.raw : JSON.stringify(s.body.json);
        const headers: Record<string, string> = { 'content-type': s.contentType, ...s.extra };
        if (s.token !== undefined) headers.authorization = s.token;
        if (s.route.auth === 'signature' && s.signBody) headers['x-hub-signature-256'] = signPayload(SECRET, payload);
        const res = await app.inject({ method: s.route.method, url: urlOf(s), headers, payload });
        total++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) throw new Error(`${res.statusCode} for ${s.route.method} ${urlOf(s)}: ${res.body}`);
        if (res.statusCode < 400 && !(s.route.auth === 'signature' && res.statusCode === 200)) {
          throw new Error(`${res.statusCode} accepted ${s.route.method} ${urlOf(s)} ${payload.slice(0, 200)}`);
        }
        if (res.statusCode >= 400 && !/^DISTCI_[A-Z_]+$/.test(res.json().code)) throw new Error(`no code: ${res.body}`);
      }),
      { numRuns: RUNS_PER_ROUTE },
    );
  }
  const ms = performance.now() - t0;
  t.equal(total, RUNS_PER_ROUTE * WRITE_ROUTES.length);
  t.comment(
    `${total} requests in ${(ms / 1000).toFixed(1)} s; statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
  );
  t.same(await dumpState(store, blob), before, 'the chroot and the key prefix are unchanged');
});
