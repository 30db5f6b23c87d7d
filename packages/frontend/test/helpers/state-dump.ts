/**
 * Everything a test's namespace holds: every znode of its chroot (data, versions, children) and every
 * object of its key prefix (key, size, ETag) — to prove a refused request changed nothing.
 */
import { type BlobStore, type CoordinationStore, listAll } from '@distci/common';
import { dumpTree } from '@distci/testkit';

export async function dumpState(store: CoordinationStore, blob: BlobStore): Promise<unknown> {
  const objects: Array<[string, number, string]> = [];
  for await (const info of listAll(blob)) objects.push([info.key, info.size, info.etag]);
  return { znodes: await dumpTree(store, '/'), objects };
}
