import { resolve } from 'node:path';
import t from 'tap';
import { compileStorageOptions, parseZkConnect } from '../src/options.js';

t.test('defaults: embedded store and directory store under the data dir', async (t) => {
  const o = compileStorageOptions({}, {});
  t.equal(o.dataDir, resolve('.distci'));
  t.same(o.coordination, { type: 'embedded', dataDir: resolve('.distci/coordination'), sessionTimeoutMs: 10_000 });
  t.same(o.blob, { type: 'directory', dir: resolve('.distci/objects'), prefix: '' });
  t.ok(Object.isFrozen(o) && Object.isFrozen(o.coordination) && Object.isFrozen(o.blob), 'compiled options are frozen');
});

t.test('env names select ZooKeeper and S3; flags win over env', async (t) => {
  const env = {
    DISTCI_ZK: 'zk1:2181,zk2:2181/ci',
    DISTCI_S3_ENDPOINT: 'http://127.0.0.1:7480/',
    DISTCI_S3_BUCKET: 'builds',
    DISTCI_S3_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AK',
    AWS_SECRET_ACCESS_KEY: 'SK',
    DISTCI_DATA_DIR: '/var/lib/distci',
    DISTCI_SESSION_TIMEOUT_MS: '4000',
  };
  const o = compileStorageOptions({}, env);
  t.same(o.coordination, { type: 'zookeeper', connect: 'zk1:2181,zk2:2181', chroot: '/ci', sessionTimeoutMs: 4000 });
  t.same(o.blob, {
    type: 's3',
    endpoint: 'http://127.0.0.1:7480',
    bucket: 'builds',
    region: 'eu-west-1',
    accessKeyId: 'AK',
    secretAccessKey: 'SK',
    prefix: '',
  });
  t.equal(o.dataDir, '/var/lib/distci');
  const f = compileStorageOptions({ zk: '127.0.0.1:2181', s3Bucket: 'other', sessionTimeout: 2000 }, env);
  t.same(f.coordination, { type: 'zookeeper', connect: '127.0.0.1:2181', chroot: '/distci', sessionTimeoutMs: 2000 });
  t.equal(f.blob.type === 's3' && f.blob.bucket, 'other');
  const p = compileStorageOptions({ s3Prefix: 'team-a/ci' }, env);
  t.equal(p.blob.prefix, 'team-a/ci/', 'a prefix gets its trailing slash');
});

t.test('bad values are refused with DISTCI_BAD_OPTION and a hint', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ DISTCI_ZK: 'not a host' }, /host:port/],
    [{ DISTCI_ZK: '127.0.0.1:2181/../x' }, /chroot/],
    [{ DISTCI_S3_ENDPOINT: 'nope' }, /URL/],
    [{ DISTCI_S3_ENDPOINT: 'ftp://x' }, /http/],
    [{ DISTCI_S3_ENDPOINT: 'http://x', DISTCI_S3_BUCKET: 'A_B' }, /3-63/],
    [{ DISTCI_SESSION_TIMEOUT_MS: '10' }, /1000\.\.120000/],
    [{ DISTCI_S3_ENDPOINT: 'http://x', DISTCI_S3_PREFIX: '../up' }, /relative path segments/],
  ];
  for (const [env, hint] of cases) {
    t.throws(() => compileStorageOptions({}, env), { code: 'DISTCI_BAD_OPTION', message: hint }, JSON.stringify(env));
  }
  t.same(parseZkConnect('[::1]:2181/a/b'), { connect: '[::1]:2181', chroot: '/a/b' });
});
