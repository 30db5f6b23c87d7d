/**
 * The real services shared by one test run: one ZooKeeper server and one single-node Ceph RGW,
 * started by `before.ts` on free 127.0.0.1 ports in a temp dir, stopped by PID in `after.ts`.
 * Tests read their endpoints from the services file and isolate themselves with their own
 * ZooKeeper chroot / S3 key prefix (`uniqueName`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { customAlphabet } from 'nanoid';

/** A single-node Ceph RGW started for a test run (`ceph.ts`). */
export interface CephRgw {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  pids: number[];
}

export interface TestServices {
  /** Temp dir holding the services' data and logs. */
  dir: string;
  zk: { connect: string; pid: number };
  s3: CephRgw;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/**
 * One services file per test run, named after the tap runner's PID: the before-hook, every test file
 * and the after-hook are children of the same runner, so concurrent runs in one checkout never see (or
 * stop) each other's services. `DISTCI_TEST_RUN` overrides it (e.g. for a script run outside tap).
 */
export const servicesFile = join(
  repoRoot,
  '.test-services',
  `services-${process.env.DISTCI_TEST_RUN ?? process.ppid}.json`,
);

/** The services started for this test run; throws (never skips) when they are missing. */
export function loadServices(): TestServices {
  if (!existsSync(servicesFile)) {
    throw new Error(
      `no test services (${servicesFile} is missing): run the tests with \`npm test\`, whose before-hook starts ZooKeeper and Ceph RGW`,
    );
  }
  return JSON.parse(readFileSync(servicesFile, 'utf8')) as TestServices;
}

const suffix = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 10);
/** A name unique to one test: a chroot (`/t-…`) or a key prefix (`t-…/`). */
export function uniqueName(tag = 't'): string {
  return `${tag}-${suffix()}`;
}
