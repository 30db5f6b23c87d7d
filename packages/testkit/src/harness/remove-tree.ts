/** Test cleanup: deletes a coordination-store subtree (a test's chroot, its queues). */
import type { CoordinationStore } from '@distci/common';
import { isDistciError } from '@distci/common';

/** Deletes `path` and everything under it (children first); a missing node is fine. */
export async function removeTree(store: CoordinationStore, path: string): Promise<void> {
  let names: string[];
  try {
    names = await store.children(path);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) return;
    throw err;
  }
  const base = path === '/' ? '' : path;
  await Promise.all(names.map((n) => removeTree(store, `${base}/${n}`)));
  try {
    await store.delete(path);
  } catch (err) {
    if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
  }
}
