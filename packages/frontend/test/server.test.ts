/** startFrontend boots on storage options (embedded store + directory here), listens, and closes all. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileStorageOptions } from '@distci/common';
import t from 'tap';
import { startFrontend } from '../src/server.js';
import { AUTH, jobConfig, testOptions } from './helpers/frontend.js';

t.test('startFrontend listens on a real socket and closes its session and storage', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'distci-server-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const frontend = await startFrontend({
    options: testOptions(),
    storageOptions: compileStorageOptions({ dataDir: dir }, {}),
    logger: false,
  });
  t.match(frontend.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.equal((await fetch(`${frontend.url}/readyz`)).status, 200);
  const created = await fetch(`${frontend.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(jobConfig('web')),
  });
  t.equal(created.status, 201);
  const trigger = await fetch(`${frontend.url}/api/v1/jobs/web/builds`, { method: 'POST', headers: AUTH });
  t.equal(trigger.status, 201);
  t.equal(trigger.headers.get('location'), '/api/v1/jobs/web/builds/1');
  // An open event stream does not hold the close up.
  const events = await fetch(`${frontend.url}/api/v1/jobs/web/builds/1/events`);
  const reader = events.body!.getReader();
  await reader.read();
  await frontend.close();
  for (;;) if ((await reader.read()).done) break;
  await t.rejects(fetch(`${frontend.url}/healthz`), 'no longer listening');

  // The same data dir opens again (the embedded store's lock was released): the job is still there.
  const again = await startFrontend({
    options: testOptions(),
    storageOptions: compileStorageOptions({ dataDir: dir }, {}),
    logger: false,
  });
  t.teardown(() => again.close());
  const job = await fetch(`${again.url}/api/v1/jobs/web/builds/1`);
  t.equal(job.status, 200);
  t.match(await job.json(), { number: 1, live: true });
});
