/**
 * Artifacts on real Ceph RGW: the manifest as listed, downloads that a browser can never render in the
 * API's origin, and crafted paths (`..`, `%2e%2e`, `%2F..`, backslashes) refused — through inject and
 * through a raw socket, where no client normalises the path first.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { type BuildRecord, blobKeys, newStepState } from '@distci/common';
import t from 'tap';
import { contentDisposition } from '../../src/routes/artifacts.js';
import { realStorage, testFrontend } from '../helpers/frontend.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function record(number: number, steps: Array<{ id: string; artifacts: number; copiedFrom?: number }>): BuildRecord {
  const { v: _v, ...state } = newStepState(1);
  return {
    v: 1,
    job: 'web',
    number,
    status: 'success',
    trigger: { type: 'manual' },
    ref: null,
    commit: null,
    params: {},
    config: { key: blobKeys.jobConfigVersion('web', 'c'.repeat(64)), etag: 'c'.repeat(64) },
    createdAt: 1,
    startedAt: 1,
    finishedAt: 2,
    cancel: null,
    steps: steps.map((s) => ({
      ...state,
      id: s.id,
      name: s.id,
      type: 'publish-artifacts',
      needs: [],
      matrix: null,
      labels: [],
      status: 'success',
      attempt: 1,
      artifacts: s.artifacts,
      ...(s.copiedFrom ? { copiedFrom: s.copiedFrom } : {}),
    })),
  };
}

/** GET with the path sent exactly as written (fetch would resolve `..` before sending). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('artifacts', async (t) => {
  const storage = realStorage(t);
  const { app, blob } = await testFrontend(t, storage);
  const files: Record<string, { body: string; contentType: string; step: string }> = {
    'dist/app.js': { body: 'console.log(1)\n', contentType: 'text/javascript', step: 'publish' },
    'dist/index.html': { body: '<script>alert(document.cookie)</script>', contentType: 'text/html', step: 'publish' },
    'docs/ünï cødé.txt': { body: 'hi', contentType: 'text/plain; charset=utf-8', step: 'docs' },
    'evil.bin': { body: 'x', contentType: 'text/html\r\nSet-Cookie: a=b', step: 'publish' },
  };
  for (const [path, f] of Object.entries(files)) await blob.put(blobKeys.artifact('web', 1, path), f.body);
  await blob.put(
    blobKeys.artifactManifest('web', 1),
    JSON.stringify({
      v: 1,
      job: 'web',
      build: 1,
      artifacts: [
        ...Object.entries(files).map(([path, f]) => ({
          path,
          size: Buffer.byteLength(f.body),
          sha256: sha(f.body),
          contentType: f.contentType,
          step: f.step,
        })),
        { path: '../outside', size: 1, sha256: sha('x'), contentType: 'text/plain', step: 'publish' },
      ],
    }),
  );
  await blob.put(
    blobKeys.build('web', 1),
    JSON.stringify(
      record(1, [
        { id: 'publish', artifacts: 3 },
        { id: 'docs', artifacts: 1 },
      ]),
    ),
  );
  // Build 2 is a retry that copied `docs` (and its artifact) from build 1 and published its own app.js.
  await blob.put(
    blobKeys.build('web', 2),
    JSON.stringify(
      record(2, [
        { id: 'publish', artifacts: 1 },
        { id: 'docs', artifacts: 1, copiedFrom: 1 },
      ]),
    ),
  );
  await blob.put(blobKeys.artifact('web', 2, 'dist/app.js'), 'console.log(2)\n');
  await blob.put(
    blobKeys.artifactManifest('web', 2),
    JSON.stringify({
      v: 1,
      job: 'web',
      build: 2,
      artifacts: [
        {
          path: 'dist/app.js',
          size: 15,
          sha256: sha('console.log(2)\n'),
          contentType: 'text/javascript',
          step: 'publish',
        },
      ],
    }),
  );

  t.test('the list: the manifest’s valid entries, with URLs', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1/artifacts' });
    t.equal(res.statusCode, 200);
    const list = res.json().artifacts;
    t.same(
      list.map((a: { path: string }) => a.path),
      ['dist/app.js', 'dist/index.html', 'docs/ünï cødé.txt', 'evil.bin'],
      'the entry escaping the artifacts is left out',
    );
    t.equal(list[2].url, '/api/v1/jobs/web/builds/1/artifacts/docs/%C3%BCn%C3%AF%20c%C3%B8d%C3%A9.txt');
    t.equal(list[3].contentType, 'application/octet-stream', 'a content type with a header in it is not trusted');
    const retried = (await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/2/artifacts' })).json().artifacts;
    t.same(
      retried.map((a: { path: string; build: number }) => [a.path, a.build]),
      [
        ['dist/app.js', 2],
        ['docs/ünï cødé.txt', 1],
      ],
    );
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/9/artifacts' })).statusCode, 404);
  });

  t.test('downloads are attachments that cannot run in the API’s origin', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/1/artifacts/dist/index.html' });
    t.equal(res.statusCode, 200);
    t.equal(res.body, files['dist/index.html']!.body);
    t.equal(res.headers['content-type'], 'text/html');
    t.equal(res.headers['content-disposition'], 'attachment; filename="index.html"; filename*=UTF-8\'\'index.html');
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox");
    t.equal(res.headers['content-length'], String(files['dist/index.html']!.body.length));
    t.equal(res.headers.etag, `"${sha(files['dist/index.html']!.body)}"`);
    const unicode = await app.inject({
      method: 'GET',
      url: '/api/v1/jobs/web/builds/1/artifacts/docs/%C3%BCn%C3%AF%20c%C3%B8d%C3%A9.txt',
    });
    t.equal(unicode.statusCode, 200);
    t.equal(unicode.body, 'hi');
    t.equal(unicode.headers['content-disposition'], contentDisposition('docs/ünï cødé.txt'));
    t.match(unicode.headers['content-disposition'], /^attachment; filename="_n_ c_d_.txt"; filename\*=UTF-8''%C3%BC/);
    const copied = await app.inject({
      method: 'GET',
      url: '/api/v1/jobs/web/builds/2/artifacts/docs/%C3%BCn%C3%AF%20c%C3%B8d%C3%A9.txt',
    });
    t.equal(copied.body, 'hi', 'a copied step’s artifact comes from the build that published it');
    t.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/jobs/web/builds/2/artifacts/dist/app.js' })).body,
      'console.log(2)\n',
    );
  });

  t.test('crafted paths are refused (400) or not found (404), never served', async (t) => {
    const crafted: Array<[string, number]> = [
      ['../build.json', 400],
      ['dist/../../1/build.json', 400],
      ['%2e%2e/build.json', 400],
      ['%2E%2E%2Fbuild.json', 400],
      ['dist%2F..%2F..%2Fbuild.json', 400],
      ['dist/%2e%2e/%2e%2e/build.json', 400],
      ['..%5Cbuild.json', 400],
      ['dist\\..\\build.json', 400],
      ['%2Fetc%2Fpasswd', 400],
      ['dist//app.js', 400],
      ['./dist/app.js', 400],
      ['dist/app.js%00.html', 400],
      ['../outside', 400],
      ['dist/missing.js', 404],
      ['build.json', 404],
    ];
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    for (const [path, status] of crafted) {
      const url = `/api/v1/jobs/web/builds/1/artifacts/${path}`;
      // The server sees the path exactly as written here.
      const raw = await rawGet(port, url);
      t.equal(raw.status, status, `socket ${path}`);
      t.match(JSON.parse(raw.body).code, status === 400 ? /^DISTCI_BAD_PATH$/ : /^DISTCI_ARTIFACT_NOT_FOUND$/);
      t.notMatch(raw.body, /"v":1/, 'no build record leaked');
      // inject (like a browser) resolves dot segments and backslashes itself: then the request lands on
      // another route or a legitimate artifact, never outside the artifacts.
      const injected = await app.inject({ method: 'GET', url });
      if (injected.statusCode === 200) t.equal(injected.body, files['dist/app.js']!.body, `inject ${path}`);
      else t.ok([400, 404].includes(injected.statusCode), `inject ${path}: ${injected.statusCode}`);
    }
  });
});
