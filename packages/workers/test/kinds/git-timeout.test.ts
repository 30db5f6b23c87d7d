/**
 * Issue 13, hole 7: git operations time out. A server that accepts the connection and never answers
 * held a checkout for ever (git's HTTP transport has no timeout of its own); with
 * DISTCI_GIT_TIMEOUT_MS the checkout gives up and says so, as a transient error (retried).
 */
import { createServer, type Socket } from 'node:net';
import t from 'tap';
import { createGitCheckoutKind } from '../../src/kinds/git-checkout.js';
import { gitTimeoutMs } from '../../src/kinds/git-mirror.js';
import { testDirectoryBlobStore } from '../helpers/blob-stores.js';
import { tempDir, testStep } from '../helpers/step-context.js';

t.test('a git server that never answers: the checkout gives up after DISTCI_GIT_TIMEOUT_MS', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s)); // accepts, reads nothing, answers nothing
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const { port } = silent.address() as { port: number };
  const before = process.env.DISTCI_GIT_TIMEOUT_MS;
  process.env.DISTCI_GIT_TIMEOUT_MS = '1000';
  t.teardown(() => {
    if (before === undefined) delete process.env.DISTCI_GIT_TIMEOUT_MS;
    else process.env.DISTCI_GIT_TIMEOUT_MS = before;
  });
  const blob = await testDirectoryBlobStore(t);
  const kind = createGitCheckoutKind({ cacheDir: await tempDir(t) });
  const job = {
    name: 'web',
    repository: { url: `http://127.0.0.1:${port}/repo.git` },
    steps: [{ name: 'checkout', type: 'git-checkout' }],
  };
  const step = await testStep(t, { job, blob });
  const started = Date.now();
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error('git still running after 15 s')), 15_000);
  });
  await t.rejects(Promise.race([kind.run(step.ctx), hung]), { message: /did not finish within 1000 ms/ });
  clearTimeout(guard);
  t.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
});

t.test('DISTCI_GIT_TIMEOUT_MS is checked', async (t) => {
  t.equal(gitTimeoutMs({}), 600_000, 'default 10 min');
  t.equal(gitTimeoutMs({ DISTCI_GIT_TIMEOUT_MS: '5000' }), 5000);
  t.throws(() => gitTimeoutMs({ DISTCI_GIT_TIMEOUT_MS: 'soon' }), { code: 'DISTCI_BAD_OPTION' });
});
