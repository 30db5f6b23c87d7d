import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  compileFrontendOptions,
  DEFAULT_JOB_BODY_LIMIT,
  DEFAULT_WEBHOOK_BODY_LIMIT,
  tokenDigest,
} from '../src/frontend-options.js';

t.test('defaults', async (t) => {
  const o = compileFrontendOptions({}, {});
  t.match(o, {
    port: 8080,
    host: '127.0.0.1',
    tokenDigests: [],
    readAuth: 'public',
    githubSecret: null,
    bodyLimits: { job: DEFAULT_JOB_BODY_LIMIT, webhook: DEFAULT_WEBHOOK_BODY_LIMIT },
    rateLimits: { writesPerMinute: 300, notFoundPerMinute: 60 },
    publicUrl: null,
    trustProxy: false,
    logLevel: 'info',
    logPollMs: 500,
    webhookSweepMs: 60_000,
  });
  t.ok(Object.isFrozen(o) && Object.isFrozen(o.bodyLimits) && Object.isFrozen(o.tokenDigests));
});

t.test('env, flags first; tokens kept as digests only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'distci-opts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'tokens');
  await writeFile(file, '# ops team\nfile-token-0123456789abcdef\n\n  spaced-token-0123456789  \n');
  const o = compileFrontendOptions(
    { port: 9000 },
    {
      DISTCI_PORT: '1',
      DISTCI_HOST: '0.0.0.0',
      DISTCI_TOKENS: 'env-token-0123456789abcdef, env-token-0123456789abcdef',
      DISTCI_TOKENS_FILE: file,
      DISTCI_READ_AUTH: 'token',
      DISTCI_GITHUB_SECRET: 's3cret',
      DISTCI_PUBLIC_URL: 'https://ci.example.com/',
      DISTCI_TRUST_PROXY: 'true',
      DISTCI_RATE_LIMIT_WRITES: '10',
    },
  );
  t.equal(o.port, 9000);
  t.equal(o.host, '0.0.0.0');
  t.same(
    o.tokenDigests.map((d) => d.toString('hex')).sort(),
    ['env-token-0123456789abcdef', 'file-token-0123456789abcdef', 'spaced-token-0123456789']
      .map((x) => tokenDigest(x).toString('hex'))
      .sort(),
  );
  t.notMatch(JSON.stringify(o), /token-0123/, 'no clear-text token kept');
  t.equal(o.readAuth, 'token');
  t.equal(o.githubSecret, 's3cret');
  t.equal(o.publicUrl, 'https://ci.example.com');
  t.equal(o.trustProxy, true);
  t.equal(o.rateLimits.writesPerMinute, 10);
});

t.test('bad values are refused with the option named', async (t) => {
  const cases: Array<Record<string, string>> = [
    { DISTCI_PORT: '70000' },
    { DISTCI_PORT: 'http' },
    { DISTCI_READ_AUTH: 'private' },
    { DISTCI_TOKENS: 'short' },
    { DISTCI_TOKENS: 'has a space in it 0123456789' },
    { DISTCI_TOKENS_FILE: '/nonexistent/tokens' },
    { DISTCI_PUBLIC_URL: 'ftp://x' },
    { DISTCI_PUBLIC_URL: 'not a url' },
    { DISTCI_TRUST_PROXY: 'yes' },
    { DISTCI_LOG_LEVEL: 'loud' },
    { DISTCI_LOG_POLL_MS: '1' },
    { DISTCI_HOST: 'a b' },
    { DISTCI_JOB_BODY_LIMIT: '10' },
  ];
  for (const env of cases) {
    t.throws(() => compileFrontendOptions({}, env), { code: 'DISTCI_BAD_OPTION' }, JSON.stringify(env));
  }
  t.throws(
    () => compileFrontendOptions({}, { DISTCI_TOKENS: 'short' }),
    { message: /DISTCI_TOKENS='…'/ },
    'never echoed',
  );
});
