/** The OpenAPI document: every route, every response per status, the job config schema as the body. */
import t from 'tap';
import { embeddedStorage, testFrontend } from '../helpers/frontend.js';

t.test('openapi.json', async (t) => {
  const { app } = await testFrontend(t, await embeddedStorage(t));
  const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  t.equal(res.statusCode, 200);
  const doc = res.json();
  t.equal(doc.openapi, '3.0.3');
  const routes = Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })),
    )
    .sort((a, b) => (a.route < b.route ? -1 : 1));
  t.same(
    routes.map((r) => r.route),
    [
      'DELETE /api/v1/jobs/{job}',
      'DELETE /api/v1/secrets/{name}',
      'DELETE /api/v1/tokens/{id}',
      'GET /api/v1/jobs',
      'GET /api/v1/jobs/{job}',
      'GET /api/v1/jobs/{job}/builds',
      'GET /api/v1/jobs/{job}/builds/{n}',
      'GET /api/v1/jobs/{job}/builds/{n}/artifacts',
      'GET /api/v1/jobs/{job}/builds/{n}/artifacts/{*}',
      'GET /api/v1/jobs/{job}/builds/{n}/events',
      'GET /api/v1/jobs/{job}/builds/{n}/logs/{step}',
      'GET /api/v1/jobs/{job}/builds/{n}/logs/{step}/lines',
      'GET /api/v1/jobs/{job}/builds/{n}/logs/{step}/search',
      'GET /api/v1/queue',
      'GET /api/v1/secrets',
      'GET /api/v1/tokens',
      'GET /api/v1/workers',
      'GET /healthz',
      'GET /readyz',
      'POST /api/v1/jobs',
      'POST /api/v1/jobs/{job}/builds',
      'POST /api/v1/jobs/{job}/builds/{n}/cancel',
      'POST /api/v1/jobs/{job}/builds/{n}/retry',
      'POST /api/v1/jobs/{job}/builds/{n}/steps/{step}/retry',
      'POST /api/v1/tokens',
      'POST /api/v1/webhooks/github',
      'PUT /api/v1/jobs/{job}',
      'PUT /api/v1/secrets/{name}',
    ],
  );
  for (const { route, op } of routes) {
    const statuses = Object.keys(op.responses);
    t.ok(
      statuses.some((s) => /^2\d\d$/.test(s)),
      `${route}: a success response`,
    );
    t.ok(statuses.includes('5XX') || statuses.includes('5xx'), `${route}: the 5xx error body`);
  }
  const jobBody = doc.paths['/api/v1/jobs'].post.requestBody.content['application/json'].schema;
  t.same(jobBody.required, ['name', 'steps'], 'the job config schema is the documented body');
  t.equal(doc.paths['/api/v1/webhooks/github'].post.security.length, 0, 'the webhook needs no token');
});
