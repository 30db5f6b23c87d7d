/**
 * tap's before-hook: starts the real services every test run shares (ZooKeeper, Ceph RGW), installing
 * the Debian packages first when they are missing (as root). With `CI` set, a service that cannot be
 * started fails the run; there is no skipping.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startCephRgw } from './ceph.js';
import { servicesFile, type TestServices } from './services.js';
import { startZooKeeper } from './zookeeper.js';

const dir = mkdtempSync(join(tmpdir(), 'distci-test-'));
const t0 = Date.now();
rmSync(servicesFile, { force: true });
const [zk, s3] = await Promise.all([
  startZooKeeper({ dir: join(dir, 'zk') }),
  startCephRgw({ dir: join(dir, 'ceph') }),
]);
const services: TestServices = { dir, zk, s3 };
mkdirSync(dirname(servicesFile), { recursive: true });
writeFileSync(servicesFile, JSON.stringify(services, null, 2));
console.log(
  `# test services ready in ${Date.now() - t0} ms: ZooKeeper ${zk.connect} (pid ${zk.pid}), Ceph RGW ${s3.endpoint} (pids ${s3.pids.join(',')})`,
);
