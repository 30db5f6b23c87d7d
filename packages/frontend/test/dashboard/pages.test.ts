/**
 * The dashboard's server-rendered pages through `app.inject`: status codes, the CSP, escaping of every
 * value that comes from users (job description, params, ref), HTML 404s, the live fragment, the
 * assets (and the JS budget), and the cancel form's token check.
 */
import { gzipSync } from 'node:zlib';
import { type BuildState, decodeJson, encodeJson, readBuild, zpaths } from '@distci/common';
import t, { type Test } from 'tap';
import { AUTH, embeddedStorage, jobConfig, TOKEN, testFrontend, testOptions } from '../helpers/frontend.js';
import { dumpState } from '../helpers/state-dump.js';

const EVIL = '<img src=x onerror=alert(1)>';

async function setup(t: Test) {
  const f = await testFrontend(t, await embeddedStorage(t));
  const job = jobConfig('web', { description: `builds <b>the</b> site ${EVIL}`, params: { TARGET: { default: 'x' } } });
  t.equal((await f.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: job })).statusCode, 201);
  const trigger = await f.app.inject({
    method: 'POST',
    url: '/api/v1/jobs/web/builds',
    headers: AUTH,
    payload: { ref: '<b>main</b>', params: { TARGET: EVIL } },
  });
  t.equal(trigger.statusCode, 201);
  return f;
}

function noRawMarkup(t: Test, body: string, what: string) {
  t.notOk(body.includes('<img'), `${what}: no <img> element`);
  t.notOk(body.includes('<b>'), `${what}: no <b> from data`);
}

t.test('pages answer HTML with a strict CSP and escape every value', async (t) => {
  const { app } = await setup(t);
  for (const url of [
    '/',
    '/builds',
    '/builds?job=web&status=queued',
    '/jobs/web',
    '/jobs/web/builds/1',
    '/queue',
    '/workers',
  ]) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 200, url);
    t.match(res.headers['content-type'], /^text\/html/, url);
    const csp = String(res.headers['content-security-policy']);
    t.match(csp, /default-src 'none'/, url);
    t.match(csp, /script-src 'self'(;|$)/, url);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/, url);
    t.notMatch(res.body, /<script(?![^>]*\bsrc=)/, `${url}: no inline script`);
    t.notMatch(res.body, /\sstyle=/, `${url}: no inline style`);
    noRawMarkup(t, res.body, url);
  }
  const build = (await app.inject({ url: '/jobs/web/builds/1' })).body;
  t.match(build, '&lt;img src=x onerror=alert(1)&gt;', 'the param is shown as text');
  t.match(build, '&lt;b&gt;main&lt;/b&gt;', 'the ref is shown as text');
  t.match(build, /data-step="build"/, 'the steps are listed');
  t.match(build, /data-step="test"/);
  t.match(build, /class="dag"[^>]*data-nodes="2" data-edges="1"/, 'the graph: 2 nodes, 1 edge');
  t.match(build, /waiting: (needs: build|about to be queued)/, 'a waiting step says why');
  const job = (await app.inject({ url: '/jobs/web' })).body;
  t.match(job, 'builds &lt;b&gt;the&lt;/b&gt; site', 'the description is text');
  t.match(job, /<pre class="config"><code>\{/, 'the config is shown');
  const overview = (await app.inject({ url: '/' })).body;
  t.match(overview, 'href="/jobs/web/builds/1"', 'the overview links the running build');
});

t.test('unknown jobs, builds and steps are HTML 404 pages; other paths keep the JSON 404', async (t) => {
  const { app } = await setup(t);
  for (const url of [
    '/jobs/nope',
    '/jobs/web/builds/99',
    '/jobs/web/builds/0',
    '/jobs/web/builds/abc',
    '/jobs/Bad%20Name/builds/1',
    '/jobs/web/builds/1/steps/nope',
    `/jobs/web/builds/1/steps/${encodeURIComponent(EVIL)}`,
  ]) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 404, url);
    t.match(res.headers['content-type'], /^text\/html/, url);
    t.match(res.body, /<h1>Not found<\/h1>/, url);
    t.notOk(res.body.includes('<img'), `${url}: the path is escaped`);
  }
  const api = await app.inject({ url: '/nope' });
  t.equal(api.statusCode, 404);
  t.equal(api.json().code, 'DISTCI_NOT_FOUND');
});

t.test('a live refresh gets <main> alone', async (t) => {
  const { app } = await setup(t);
  const res = await app.inject({ url: '/jobs/web/builds/1', headers: { 'x-distci-fragment': 'main' } });
  t.equal(res.statusCode, 200);
  t.match(res.body, /^<main id="main"/);
  t.notMatch(res.body, /<html/);
  t.match(res.body, /data-live-builds="web\/1"/, 'names the build whose events keep it live');
  t.match(res.headers.vary, /x-distci-fragment/);
});

t.test('assets: the bundle within budget, immutable under its hash; a stale hash is a 404', async (t) => {
  const { app } = await setup(t);
  const page = (await app.inject({ url: '/' })).body;
  const js = /src="(\/dashboard\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(page)?.[1];
  const css = /href="(\/dashboard\/assets\/app\.[0-9a-f]{12}\.css)"/.exec(page)?.[1];
  t.ok(js && css, 'the page names both');
  const script = await app.inject({ url: js! });
  t.equal(script.statusCode, 200);
  t.match(script.headers['content-type'], /^text\/javascript/);
  t.match(script.headers['cache-control'], /immutable/);
  const gz = gzipSync(script.rawPayload).length;
  t.ok(gz < 60 * 1024, `JS is ${gz} B gzipped (budget 60 KiB)`);
  t.match(script.body, /customElements\.define\("ci-log"/, 'the log viewer is in it');
  t.equal((await app.inject({ url: css! })).statusCode, 200);
  t.equal((await app.inject({ url: '/dashboard/assets/app.000000000000.js' })).statusCode, 404);
  const icon = await app.inject({ url: '/dashboard/assets/favicon-failure.svg' });
  t.equal(icon.statusCode, 200);
  t.match(icon.headers['content-type'], /^image\/svg\+xml/);
});

t.test('the cancel form: refused without a valid token (nothing changes), done with one', async (t) => {
  const { app, store, blob } = await setup(t);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  for (const payload of ['', 'token=', 'token=wrong-token-0123456789']) {
    const res = await app.inject({ method: 'POST', url: '/jobs/web/builds/1/cancel', headers: form, payload });
    t.equal(res.statusCode, 401, JSON.stringify(payload));
    t.match(res.headers['content-type'], /^text\/html/);
    t.equal((await readBuild(store, blob, 'web', 1)).cancel, null, 'not cancelled');
  }
  const ok = await app.inject({
    method: 'POST',
    url: '/jobs/web/builds/1/cancel',
    headers: form,
    payload: `token=${encodeURIComponent(TOKEN)}`,
  });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/jobs/web/builds/1?notice=cancelled');
  t.ok((await readBuild(store, blob, 'web', 1)).cancel, 'the build is being cancelled');
  const shown = (await app.inject({ url: '/jobs/web/builds/1?notice=cancelled' })).body;
  t.match(shown, 'Cancel requested');
  const json = await app.inject({ method: 'POST', url: '/jobs/web/builds/1/cancel', headers: AUTH });
  t.not(json.statusCode, 303, 'a bearer header is not a form: the form path needs the token in its body');
});

t.test(
  'DISTCI_READ_AUTH=token: a login page, an HttpOnly SameSite=Strict cookie for reads, never for writes',
  async (t) => {
    const { app } = await testFrontend(t, await embeddedStorage(t), testOptions({}, { DISTCI_READ_AUTH: 'token' }));
    const anonymous = await app.inject({ url: '/queue' });
    t.equal(anonymous.statusCode, 401);
    t.match(anonymous.headers['content-type'], /^text\/html/);
    t.match(anonymous.body, /<form class="login" method="post" action="\/login">/);
    t.match(anonymous.body, /name="next" value="\/queue"/);
    t.equal((await app.inject({ url: '/api/v1/queue' })).statusCode, 401, 'the API still needs the token');

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await app.inject({ method: 'POST', url: '/login', headers: form, payload: 'token=nope-0123456789' });
    t.equal(wrong.statusCode, 401);
    t.notOk(wrong.headers['set-cookie'], 'no cookie for a wrong token');
    const offsite = await app.inject({
      method: 'POST',
      url: '/login',
      headers: form,
      payload: `token=${encodeURIComponent(TOKEN)}&next=${encodeURIComponent('//evil.example/')}`,
    });
    t.equal(offsite.headers.location, '/', 'never redirects off the site');
    const login = await app.inject({
      method: 'POST',
      url: '/login',
      headers: form,
      payload: `token=${encodeURIComponent(TOKEN)}&next=%2Fqueue`,
    });
    t.equal(login.statusCode, 303);
    t.equal(login.headers.location, '/queue');
    const cookie = String(login.headers['set-cookie']);
    t.match(cookie, /HttpOnly/);
    t.match(cookie, /SameSite=Strict/);
    const jar = { cookie: cookie.split(';')[0]! };
    t.equal((await app.inject({ url: '/queue', headers: jar })).statusCode, 200, 'pages with the cookie');
    t.equal((await app.inject({ url: '/api/v1/queue', headers: jar })).statusCode, 200, 'API reads with the cookie');
    const write = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: jar, payload: jobConfig('web') });
    t.equal(write.statusCode, 401, 'a write is never authenticated by the cookie');
    const bad = { cookie: 'distci_token=wrong-0123456789' };
    t.equal((await app.inject({ url: '/queue', headers: bad })).statusCode, 401);
    t.match((await app.inject({ url: '/queue', headers: bad })).body, /not valid/);
    const logout = await app.inject({ method: 'POST', url: '/logout', headers: form, payload: '' });
    t.match(String(logout.headers['set-cookie']), /Max-Age=0/);
  },
);

t.test('reading pages writes nothing (a job never built gets no counter node)', async (t) => {
  const { app, store, blob } = await setup(t);
  const never = jobConfig('never-built');
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: AUTH, payload: never })).statusCode, 201);
  const before = await dumpState(store, blob);
  for (const url of [
    '/',
    '/builds',
    '/builds?job=never-built',
    '/jobs/never-built',
    '/jobs/web',
    '/queue',
    '/workers',
  ]) {
    t.equal((await app.inject({ url })).statusCode, 200, url);
  }
  t.same(await dumpState(store, blob), before);
});

t.test('a build waiting for its concurrency group says for which build, on its page and in the API', async (t) => {
  const { app, store } = await setup(t);
  // What the control worker writes when build 1 joins a group behind web #7 (concurrency-group.ts).
  const path = zpaths.build('web', 1);
  const read = await store.get(path);
  const state = decodeJson<BuildState>(read.data);
  const group = { name: 'deploy-<b>main</b>', cancelInProgress: false, waitingFor: { job: 'web', build: 7 } };
  await store.set(path, encodeJson({ ...state, group }), read.stat.version);
  const api = (await app.inject({ url: '/api/v1/jobs/web/builds/1' })).json();
  t.equal(api.waiting, "waiting for #7 of group 'deploy-<b>main</b>'");
  const page = (await app.inject({ url: '/jobs/web/builds/1' })).body;
  t.match(
    page,
    '<p class="waiting" data-build-waiting>waiting for #7 of group &#39;deploy-&lt;b&gt;main&lt;/b&gt;&#39;</p>',
  );
});
