/**
 * `checkStorage` and `initStorage`: what a process finds missing at start, and what `distci storage
 * init` does about it.
 *
 * - check: the object store's container (the S3 bucket; the directory) must exist. A frontend that
 *   started without it used to print "ready" and answer every write with 503 DISTCI_BLOB_STORE_ERROR;
 *   now it names the bucket and the command that creates it, and `/readyz` answers 503 with that reason.
 * - init (idempotent): creates the container when missing, proves the credentials can write, read and
 *   delete with a probe object, and opens a coordination session (the ZooKeeper adapter creates the
 *   chroot on its first session). Each action is reported as a line a person can read.
 */
import { randomBytes } from 'node:crypto';
import { distciError, readBlob } from '@distci/common';
import type { Storage } from './open-storage.js';

/** Throws DISTCI_STORAGE_NOT_INITIALISED naming the container and the command, when it is missing. */
export async function checkStorage(storage: Storage): Promise<void> {
  if (await storage.blob.containerExists()) return;
  // A directory store is this machine's own: make it (0700), as its first put always did. Only a
  // bucket, shared by a cluster, is never created behind an operator's back.
  if (storage.blob.kind === 'directory' && (await storage.blob.createContainer().then(() => true))) return;
  throw distciError(
    'DISTCI_STORAGE_NOT_INITIALISED',
    `${storage.blob.where} does not exist — run \`distci storage init\` with the same storage settings`,
    { hint: 'distci never writes into a bucket it did not find: `storage init` creates it and checks access' },
  );
}

/** Creates what is missing and checks access; returns what it did, a line per action. */
export async function initStorage(storage: Storage): Promise<string[]> {
  const done: string[] = [];
  const created = await storage.blob.createContainer();
  done.push(`${storage.blob.where}: ${created ? 'created' : 'exists'}`);
  // A probe under its own key: write, read back, delete. Proves the credentials before a build needs them.
  const key = `init-probe/${randomBytes(8).toString('hex')}`;
  const body = randomBytes(32);
  await storage.blob.put(key, body);
  const back = await readBlob(storage.blob, key);
  if (!back.equals(body)) {
    throw distciError('DISTCI_BLOB_STORE_ERROR', `the probe object '${key}' read back different bytes`);
  }
  await storage.blob.delete(key);
  if ((await storage.blob.head(key)) !== null) {
    throw distciError('DISTCI_BLOB_STORE_ERROR', `the probe object '${key}' is still there after delete`);
  }
  done.push(`${storage.blob.where}: write, read and delete work`);
  const c = storage.options.coordination;
  const store = await storage.connect();
  try {
    await store.exists('/');
  } finally {
    await store.close();
  }
  done.push(
    c.type === 'zookeeper'
      ? `zookeeper ${c.connect}: chroot ${c.chroot || '/'} ready`
      : `embedded coordination store in ${c.dataDir}: ready`,
  );
  return done;
}
