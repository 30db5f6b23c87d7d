/** Jobs over the API on real ZooKeeper + Ceph RGW: create, conditional replace, read, list, delete. */
import t from 'tap';
import { AUTH, jobConfig, realStorage, testFrontend } from '../helpers/frontend.js';
import { dumpState } from '../helpers/state-dump.js';

t.test('jobs', async (t) => {
  const { app, store, blob } = await testFrontend(t, realStorage(t));
  const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers = {}) =>
    app.inject({
      method,
      url,
      headers: { ...AUTH, ...headers },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  t.test('POST creates, and only once', async (t) => {
    const res = await req('POST', '/api/v1/jobs', jobConfig('web', { description: 'the web site' }));
    t.equal(res.statusCode, 201);
    t.equal(res.headers.location, '/api/v1/jobs/web');
    const body = res.json();
    t.equal(res.headers.etag, `"${body.etag}"`);
    t.match(body, { name: 'web', config: { name: 'web', description: 'the web site' } });
    t.match(body.version, /^[0-9a-f]{64}$/);
    const again = await req('POST', '/api/v1/jobs', jobConfig('web'));
    t.equal(again.statusCode, 409);
    t.equal(again.json().code, 'DISTCI_JOB_EXISTS');
  });

  t.test('an invalid config lists every problem with its JSON path, and writes nothing', async (t) => {
    const before = await dumpState(store, blob);
    const res = await req('POST', '/api/v1/jobs', {
      name: 'Bad Name',
      steps: [
        { name: 'a', type: 'exec-shell' },
        { name: 'b', type: 'exec-shell', run: 'x', needs: ['a'], timeout: 'soon' },
      ],
      colour: 'blue',
    });
    t.equal(res.statusCode, 400);
    const body = res.json();
    t.equal(body.code, 'DISTCI_INVALID_JOB');
    const paths = body.details.problems.map((p: { path: string }) => p.path);
    for (const p of ['name', 'steps[0].run', 'steps[1].timeout', 'colour']) t.ok(paths.includes(p), `names ${p}`);
    const semantic = await req('POST', '/api/v1/jobs', {
      name: 'cyc',
      steps: [
        { name: 'a', type: 'exec-shell', run: 'x', needs: ['b'] },
        { name: 'b', type: 'exec-shell', run: 'x', needs: ['a', 'nope'] },
      ],
    });
    t.match(semantic.json().details.problems, [{ path: 'steps[1].needs', message: /no step named 'nope'/ }]);
    for (const raw of ['[]', '"x"', 'null', '42']) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/jobs',
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload: raw,
      });
      t.equal(r.statusCode, 400, raw);
      t.equal(r.json().code, 'DISTCI_INVALID_JOB', raw);
    }
    t.same(await dumpState(store, blob), before);
  });

  t.test('GET answers the config with its ETag; If-None-Match gives 304', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs/web' });
    t.equal(res.statusCode, 200, 'reads are public by default');
    t.equal(res.json().config.description, 'the web site');
    const cached = await app.inject({
      method: 'GET',
      url: '/api/v1/jobs/web',
      headers: { 'if-none-match': res.headers.etag as string },
    });
    t.equal(cached.statusCode, 304);
    const missing = await app.inject({ method: 'GET', url: '/api/v1/jobs/nope' });
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().code, 'DISTCI_JOB_NOT_FOUND');
    const bad = await app.inject({ method: 'GET', url: '/api/v1/jobs/Not_A_Name' });
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().code, 'DISTCI_BAD_REQUEST');
  });

  t.test('PUT replaces, conditionally with If-Match; the name must be the URL’s', async (t) => {
    const current = (await app.inject({ method: 'GET', url: '/api/v1/jobs/web' })).headers.etag as string;
    const replaced = await req('PUT', '/api/v1/jobs/web', jobConfig('web', { description: 'v2' }), {
      'if-match': current,
    });
    t.equal(replaced.statusCode, 200);
    t.not(replaced.headers.etag, current);
    const stale = await req('PUT', '/api/v1/jobs/web', jobConfig('web', { description: 'v3' }), {
      'if-match': current,
    });
    t.equal(stale.statusCode, 412);
    t.equal(stale.json().code, 'DISTCI_JOB_CHANGED');
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web' })).json().config.description, 'v2');
    const star = await req('PUT', '/api/v1/jobs/web', jobConfig('web', { description: 'v3' }), { 'if-match': '*' });
    t.equal(star.statusCode, 200);
    const starMissing = await req('PUT', '/api/v1/jobs/api', jobConfig('api'), { 'if-match': '*' });
    t.equal(starMissing.statusCode, 412);
    const list = await req('PUT', '/api/v1/jobs/web', jobConfig('web'), { 'if-match': '"a", "b"' });
    t.equal(list.statusCode, 400);
    const created = await req('PUT', '/api/v1/jobs/api', jobConfig('api'));
    t.equal(created.statusCode, 201);
    t.equal(created.headers.location, '/api/v1/jobs/api');
    const mismatch = await req('PUT', '/api/v1/jobs/api', { ...jobConfig('web'), steps: [] });
    t.equal(mismatch.statusCode, 400);
    t.match(mismatch.json().details.problems, [
      { path: 'steps' },
      { path: 'name', message: "is 'web' but the URL names job 'api'; they must be equal" },
    ]);
  });

  t.test('GET /jobs pages through the jobs by name', async (t) => {
    for (const name of ['c1', 'c2', 'c3'])
      t.equal((await req('POST', '/api/v1/jobs', jobConfig(name))).statusCode, 201);
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const res = await app.inject({ method: 'GET', url: `/api/v1/jobs?limit=2${query}` });
      t.equal(res.statusCode, 200);
      const body: { jobs: Array<{ name: string }>; next: string | null } = res.json();
      names.push(...body.jobs.map((j: { name: string }) => j.name));
      cursor = body.next;
      pages++;
    } while (cursor && pages < 10);
    t.same(names, ['api', 'c1', 'c2', 'c3', 'web']);
    t.equal(pages, 3);
  });

  t.test('DELETE removes the config; the name can be created again, its builds keep their numbers', async (t) => {
    t.equal((await req('POST', '/api/v1/jobs/c1/builds')).json().number, 1);
    const del = await req('DELETE', '/api/v1/jobs/c1');
    t.equal(del.statusCode, 204);
    t.equal(del.body, '');
    t.equal((await req('DELETE', '/api/v1/jobs/c1')).statusCode, 404);
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/c1' })).statusCode, 404);
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/jobs' })).json().jobs;
    t.notOk(
      listed.some((j: { name: string }) => j.name === 'c1'),
      'a deleted job is not listed',
    );
    t.equal((await req('POST', '/api/v1/jobs', jobConfig('c1'))).statusCode, 201);
    t.equal((await req('POST', '/api/v1/jobs/c1/builds')).json().number, 2, 'numbers are never reused');
  });
});
