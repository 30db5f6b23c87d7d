/**
 * Issue 13, holes 6, 7 and 8 at the frontend: input a build could only fail on later is refused when
 * saved or triggered (path and limit in the answer); a body nested 100,000 deep is a 400, not a 500;
 * local repository URLs need the operator's consent; the webhook route refuses unsigned deliveries
 * before reading their body, a stalled client is cut off, and made-up event names share one metrics
 * series.
 */

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { signPayload } from '../../src/github/signature.js';
import { AUTH, embeddedStorage, jobConfig, SECRET, testFrontend, testOptions } from '../helpers/frontend.js';

const post = (url: string, payload: string, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url,
  headers: { ...AUTH, 'content-type': 'application/json', ...headers },
  payload,
});

t.test('a JSON body nested 100,000 levels deep is a 400 with a stable code', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  // 100,000 deep to the job route (1 MiB limit); 20,000 to the trigger route (64 KiB limit).
  for (const [url, depth] of [
    ['/api/v1/jobs', 100_000],
    ['/api/v1/jobs/web/builds', 20_000],
  ] as const) {
    const res = await app.inject(post(url, `${'['.repeat(depth)}${']'.repeat(depth)}`));
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().code, 'DISTCI_JSON_TOO_DEEP', url);
  }
  const objects = `{"name":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
  t.equal((await app.inject(post('/api/v1/jobs', objects))).json().code, 'DISTCI_JSON_TOO_DEEP');
  // Brackets inside strings are not nesting.
  const job = { ...jobConfig('web'), description: '[{'.repeat(450) };
  t.equal((await app.inject(post('/api/v1/jobs', JSON.stringify(job)))).statusCode, 201);
});

t.test('refused at save and at trigger, with the path: into "../x", a ref starting with -, NUL', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  const copy = jobConfig('c', {
    steps: [{ name: 'get', type: 'copy-artifacts', from: { job: 'o' }, paths: ['*'], into: '../x' }],
  });
  const saved = await app.inject(post('/api/v1/jobs', JSON.stringify(copy)));
  t.equal(saved.statusCode, 400);
  t.match(saved.json(), { code: 'DISTCI_INVALID_JOB', details: { problems: [{ path: 'steps[0].into' }] } });
  const env = jobConfig('e', { env: { A: 'a\u0000b' } });
  t.match((await app.inject(post('/api/v1/jobs', JSON.stringify(env)))).json(), {
    code: 'DISTCI_INVALID_JOB',
    details: { problems: [{ path: 'env.A', message: /NUL/ }] },
  });
  t.equal((await app.inject(post('/api/v1/jobs', JSON.stringify(jobConfig('web'))))).statusCode, 201);
  const dash = await app.inject(post('/api/v1/jobs/web/builds', JSON.stringify({ ref: '--upload-pack=touch /tmp/x' })));
  t.equal(dash.statusCode, 400);
  t.equal(dash.json().code, 'DISTCI_BAD_REQUEST');
  const nul = await app.inject(post('/api/v1/jobs/web/builds', JSON.stringify({ params: { X: 'a\u0000' } })));
  t.equal(nul.statusCode, 400);
  t.equal((await app.inject(post('/api/v1/jobs/web/builds', JSON.stringify({ ref: 'main' })))).statusCode, 201);
});

t.test('local repository URLs are refused unless the operator allows them', async (t) => {
  const storage = await embeddedStorage(t);
  const strict = await testFrontend(t, storage);
  const local = ['file:///srv/git/app.git', '/var/lib/distci/git-cache/0a1b.git', '../other', 'repo', 'C:/x'];
  for (const url of local) {
    const res = await strict.app.inject(post('/api/v1/jobs', JSON.stringify(jobConfig('l', { repository: { url } }))));
    t.equal(res.statusCode, 400, url);
    t.match(res.json(), { code: 'DISTCI_LOCAL_REPOSITORY', message: /DISTCI_ALLOW_LOCAL_REPOSITORIES/ }, url);
    const put = await strict.app.inject({
      ...post('/api/v1/jobs/l', JSON.stringify(jobConfig('l', { repository: { url } }))),
      method: 'PUT',
    });
    t.equal(put.json().code, 'DISTCI_LOCAL_REPOSITORY', `PUT ${url}`);
  }
  const remote = ['https://github.com/o/r.git', 'ssh://git@host:22/o/r', 'git@github.com:o/r.git', 'git://h/r'];
  for (const [i, url] of remote.entries()) {
    const res = await strict.app.inject(
      post('/api/v1/jobs', JSON.stringify(jobConfig(`r${i}`, { repository: { url } }))),
    );
    t.equal(res.statusCode, 201, url);
  }
  const open = await testFrontend(t, storage, testOptions({ allowLocalRepositories: true }));
  const res = await open.app.inject(
    post('/api/v1/jobs', JSON.stringify(jobConfig('l', { repository: { url: local[0] } }))),
  );
  t.equal(res.statusCode, 201, 'allowed with allowLocalRepositories');
  t.equal(testOptions({}, { DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true' }).allowLocalRepositories, true);
  t.throws(() => testOptions({}, { DISTCI_ALLOW_LOCAL_REPOSITORIES: 'yes please' }), { code: 'DISTCI_BAD_OPTION' });
});

/** Sends `head` on a raw socket; resolves with what the server answered when it closes (or after `ms`). */
async function rawRequest(
  port: number,
  head: string,
  body = '',
  ms = 5000,
): Promise<{ answer: string; closed: boolean }> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(head + body);
  let answer = '';
  socket.on('data', (d) => {
    answer += d.toString();
  });
  const closed = await Promise.race([
    once(socket, 'close').then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);
  socket.destroy();
  return { answer, closed };
}

t.test('webhook: an unsigned delivery is refused before its body is read; a stalled client is cut off', async (t) => {
  const storage = await embeddedStorage(t);
  const { app } = await testFrontend(t, storage, testOptions({}, { DISTCI_REQUEST_TIMEOUT_MS: '1000' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const head = (extra: string) =>
    'POST /api/v1/webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${4 * 1024 * 1024}\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\n${extra}\r\n`;
  // No signature header, and none of the 4 MiB body sent: the answer comes anyway.
  const unsigned = await rawRequest(port, head(''), '', 3000);
  t.match(unsigned.answer, /^HTTP\/1\.1 401/, 'answered 401 without waiting for the body');
  t.match(unsigned.answer, /DISTCI_BAD_SIGNATURE/);
  // A well-formed signature, 1 KiB of the 4 MiB body, then silence: the server ends it within ~1 s.
  const started = Date.now();
  const stalled = await rawRequest(
    port,
    head(`X-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\n`),
    'x'.repeat(1024),
    8000,
  );
  t.ok(stalled.closed, `the stalled connection was closed after ${Date.now() - started} ms`);
  t.ok(Date.now() - started < 5000, 'within the request timeout, not minutes');
  t.equal(testOptions().requestTimeoutMs, 30_000, 'default request timeout');
  t.equal(testOptions().bodyLimits.webhook, 5 * 1024 * 1024, 'default webhook body limit');
  t.throws(() => testOptions({}, { DISTCI_WEBHOOK_BODY_LIMIT: String(26 * 1024 * 1024) }), {
    code: 'DISTCI_BAD_OPTION',
  });
});

t.test('webhook: made-up X-GitHub-Event values share one metrics series', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  const body = JSON.stringify({ zen: 'x' });
  for (const [i, event] of ['made_up_one', 'made_up_two', 'ping', 'made_up_three'].entries()) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': `72d3162e-cc78-11e3-81ab-4c9367dc000${i}`,
        'x-hub-signature-256': i === 1 ? `sha256=${'1'.repeat(64)}` : signPayload(SECRET, body),
      },
      payload: body,
    });
    t.ok(res.statusCode === 200 || res.statusCode === 401, `${event}: ${res.statusCode}`);
  }
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.notMatch(metrics, /made_up/, 'no series per made-up event');
  t.match(metrics, /distci_webhook_deliveries_total\{event="other",outcome="ignored"\} 2/);
  t.match(metrics, /distci_webhook_deliveries_total\{event="other",outcome="rejected"\} 1/);
});
