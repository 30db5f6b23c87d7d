/**
 * Blob stores for the worker tests: a directory store in a temp dir, or the run's real Ceph RGW
 * (`loadServices().s3`) under a key prefix of its own; both closed in teardown, the S3 prefix emptied.
 */
import { type BlobStore, listAll } from '@distci/common';
import { createDirectoryBlobStore } from '@distci/store-directory';
import { createS3BlobStore } from '@distci/store-s3';
import { loadServices, uniqueName } from '@distci/testkit';
import type { Test } from 'tap';
import { tempDir } from './step-context.js';

export async function testDirectoryBlobStore(t: Test): Promise<BlobStore> {
  const blob = createDirectoryBlobStore({ dir: await tempDir(t, 'distci-blob-'), prefix: '' });
  t.teardown(() => blob.close());
  return blob;
}

export function testS3BlobStore(t: Test): BlobStore {
  const { s3 } = loadServices();
  const blob = createS3BlobStore({ ...s3, prefix: `${uniqueName('w')}/` });
  t.teardown(async () => {
    const keys: string[] = [];
    for await (const info of listAll(blob)) keys.push(info.key);
    await Promise.all(keys.map((key) => blob.delete(key)));
    await blob.close();
  });
  return blob;
}
