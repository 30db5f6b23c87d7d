/**
 * The services a bench run measures against: its own ZooKeeper and Ceph RGW (memstore), started in a
 * temp dir on free ports and stopped by PID at the end — or the ones named by the environment
 * (`DISTCI_ZK` and `DISTCI_S3_ENDPOINT`, `DISTCI_S3_BUCKET`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`),
 * which are used as they are and never stopped. Each run isolates itself with a chroot and a key prefix
 * of its own, so a shared cluster is not disturbed beyond the load.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fourLetterWord, startCephRgw, startZooKeeper, stopPids } from '@distci/testkit';

export interface BenchServices {
  /** `host:port` of ZooKeeper (no chroot). */
  zk: string;
  /** The ZooKeeper data dir when the bench started the server (its transaction log is read), else null. */
  zkDataDir: string | null;
  s3: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** True when the bench started them (versions read from the local packages). */
  own: boolean;
  versions: { zookeeper: string; ceph: string };
  /** Environment for a distci process joining the cluster under `chroot` / `prefix`. */
  env(chroot: string, prefix: string): Record<string, string>;
  stop(): Promise<void>;
}

function packageVersion(name: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', `-f=${'$'}{Version}`, name], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** ZooKeeper's own version string (`srvr`: "Zookeeper version: 3.8.0-…, built on …"). */
export async function zkVersion(zk: string): Promise<string> {
  const port = Number(zk.split(',')[0]!.split(':')[1]);
  const srvr = await fourLetterWord(port, 'srvr');
  return /Zookeeper version: ([^,\n]+)/.exec(srvr)?.[1] ?? 'unknown';
}

export async function startServices(log: (line: string) => void): Promise<BenchServices> {
  const given = process.env.DISTCI_ZK && process.env.DISTCI_S3_ENDPOINT;
  const pids: number[] = [];
  let dir: string | null = null;
  let zk: string;
  let zkDataDir: string | null = null;
  let s3: BenchServices['s3'];
  if (given) {
    zk = process.env.DISTCI_ZK!.replace(/\/.*$/, '');
    s3 = {
      endpoint: process.env.DISTCI_S3_ENDPOINT!,
      bucket: process.env.DISTCI_S3_BUCKET ?? 'distci',
      region: process.env.DISTCI_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    };
    log(`using the given services: ZooKeeper ${zk}, S3 ${s3.endpoint} bucket ${s3.bucket}`);
  } else {
    dir = mkdtempSync(join(tmpdir(), 'distci-bench-'));
    const t0 = performance.now();
    try {
      const [z, c] = await Promise.all([
        startZooKeeper({ dir: join(dir, 'zk') }),
        startCephRgw({ dir: join(dir, 'ceph'), bucket: 'distci-bench' }),
      ]);
      pids.push(z.pid, ...c.pids);
      zk = z.connect;
      zkDataDir = join(dir, 'zk', 'data');
      s3 = c;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    log(`started ZooKeeper ${zk} and Ceph RGW ${s3.endpoint} in ${Math.round(performance.now() - t0)} ms (${dir})`);
  }
  const versions = {
    zookeeper: await zkVersion(zk).catch(() => packageVersion('zookeeper')),
    ceph: given ? 'unknown (given endpoint)' : packageVersion('radosgw'),
  };
  return {
    zk,
    zkDataDir,
    s3,
    own: !given,
    versions,
    env: (chroot, prefix) => ({
      DISTCI_ZK: `${zk}${chroot}`,
      DISTCI_SESSION_TIMEOUT_MS: '10000',
      DISTCI_S3_ENDPOINT: s3.endpoint,
      DISTCI_S3_BUCKET: s3.bucket,
      DISTCI_S3_REGION: s3.region,
      DISTCI_S3_PREFIX: prefix,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      // The bench jobs check out local repositories (no network here): allowed only when said so.
      DISTCI_ALLOW_LOCAL_REPOSITORIES: 'true',
    }),
    async stop() {
      await stopPids(pids);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
