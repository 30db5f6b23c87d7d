import t from 'tap';
import { blobKeys, labelSetName, parseLabelSetName, relativePath, segment, zpaths } from '../src/keys.js';

t.test('znode paths follow the documented layout', async (t) => {
  t.equal(zpaths.job('web'), '/jobs/web');
  t.equal(zpaths.buildPrefix('web'), '/jobs/web/builds/b-');
  t.equal(zpaths.build('web', 42), '/jobs/web/builds/b-0000000042');
  t.equal(zpaths.parseBuildName('b-0000000042'), 42);
  t.equal(zpaths.parseBuildName('b-42'), null);
  t.equal(
    zpaths.ticketPrefix('exec-shell', ['linux', 'arm64', 'linux'], 7, 1_700_000_000_123),
    '/tickets/exec-shell/arm64,linux/2-1700000000123-',
  );
  t.same(zpaths.parseTicketName('2-1700000000123-0000000042'), { priority: 7, postedAt: 1_700_000_000_123, seq: 42 });
  t.equal(zpaths.parseTicketName('junk'), null);
  t.equal(zpaths.ticketQueue('control', []), '/tickets/control/_');
  t.equal(zpaths.claim('control', '_~4-1700000000123-0000000001', 2), '/claims/control/_~4-1700000000123-0000000001-2');
  t.equal(zpaths.worker('git-checkout', 'w1'), '/workers/git-checkout/w1');
  t.throws(() => zpaths.ticketPrefix('control', [], 10, 0), { code: 'DISTCI_BAD_PATH' });
});

t.test('object keys follow the documented layout', async (t) => {
  t.equal(blobKeys.jobConfig('web'), 'jobs/web/config.json');
  t.equal(blobKeys.build('web', 3), 'builds/web/3/build.json');
  t.equal(blobKeys.logChunk('web', 3, 'test[cc=gcc]', 1, 7), 'builds/web/3/logs/test[cc=gcc]/1/0000000007');
  t.equal(blobKeys.artifact('web', 3, 'dist/app.js'), 'builds/web/3/artifacts/dist/app.js');
  t.equal(blobKeys.workspace('web', 3, 'build', 2), 'builds/web/3/workspaces/build/2');
  t.equal(blobKeys.cache('git/abc'), 'cache/git/abc');
  t.equal(blobKeys.artifactManifest('web', 3), 'builds/web/3/artifacts.json');
  const sha = 'a'.repeat(64);
  t.equal(blobKeys.checkoutCache(sha, 'b'.repeat(40)), `cache/git-checkout/v1/${sha}/${'b'.repeat(40)}`);
  t.throws(() => blobKeys.checkoutCache(sha, 'main'), { code: 'DISTCI_BAD_PATH' });
  t.throws(() => blobKeys.checkoutCache('../x', 'b'.repeat(40)), { code: 'DISTCI_BAD_PATH' });
});

t.test('names and paths never escape their roots', async (t) => {
  for (const job of ['', 'Web', '../x', 'a/b', '-x', 'x'.repeat(101)]) {
    t.throws(() => blobKeys.jobConfig(job), { code: 'DISTCI_BAD_PATH' }, `job '${job}'`);
  }
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a\0b']) {
    t.throws(() => segment(bad), { code: 'DISTCI_BAD_PATH' }, `segment '${bad}'`);
  }
  for (const bad of ['', '/abs', '../x', 'a/../b', 'a//b', 'a/./b', 'a/', 'a\\b', 'x\0']) {
    t.throws(() => relativePath(bad), { code: 'DISTCI_BAD_PATH' }, `path '${bad}'`);
  }
  t.throws(() => blobKeys.artifact('web', 1, '../../jobs/web/config.json'), { code: 'DISTCI_BAD_PATH' });
  t.equal(relativePath('a/b..c/.d'), 'a/b..c/.d', 'dots inside names are fine');
});

t.test('label sets are sorted, de-duplicated and validated', async (t) => {
  t.equal(labelSetName(['b', 'a', 'b']), 'a,b');
  t.same(parseLabelSetName('a,b'), ['a', 'b']);
  t.same(parseLabelSetName('_'), []);
  t.throws(() => labelSetName(['GPU']), { code: 'DISTCI_BAD_PATH' });
  t.throws(() => labelSetName(['a,b']), { code: 'DISTCI_BAD_PATH' });
});

t.test('webhook inbox keys take only source and delivery names', async (t) => {
  const id = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
  t.equal(blobKeys.webhookDelivery('github', id), `webhooks/github/deliveries/${id}.json`);
  t.equal(blobKeys.webhookOpen('github', id), `webhooks/github/open/${id}`);
  t.equal(blobKeys.webhookOpenPrefix('github'), 'webhooks/github/open/');
  for (const bad of ['', '..', '../x', 'a/b', '.hidden', 'x'.repeat(101), 'a b']) {
    t.throws(() => blobKeys.webhookDelivery('github', bad), { code: 'DISTCI_BAD_PATH' }, `delivery '${bad}'`);
  }
  t.throws(() => blobKeys.webhookOpen('../github', id), { code: 'DISTCI_BAD_PATH' });
});
