/**
 * ZooKeeper for the worker tests: the run's shared server (`loadServices()`), a chroot per test, a
 * store on it closed in teardown, and the chroot removed afterwards.
 */
import type { CoordinationStore } from '@distci/common';
import { createZooKeeperStore } from '@distci/store-zookeeper';
import { loadServices, removeTree, uniqueName } from '@distci/testkit';
import type { Test } from 'tap';

export interface TestChroot {
  connect: string;
  chroot: string;
  /** A store on the chroot (its own session), closed in teardown. */
  open(options?: { sessionTimeoutMs?: number; connect?: string }): Promise<CoordinationStore>;
}

/** A new chroot on the shared ZooKeeper, removed (with everything under it) in teardown. */
export function testChroot(t: Test, tag = 'w'): TestChroot {
  const { connect } = loadServices().zk;
  const chroot = `/${uniqueName(tag)}`;
  const stores: CoordinationStore[] = [];
  t.teardown(async () => {
    await Promise.all(stores.map((s) => s.close()));
    const root = createZooKeeperStore({ connect, chroot: '', sessionTimeoutMs: 10_000 });
    try {
      await root.ready();
      await removeTree(root, chroot);
    } finally {
      await root.close();
    }
  });
  return {
    connect,
    chroot,
    async open(options = {}) {
      const store = createZooKeeperStore({
        connect: options.connect ?? connect,
        chroot,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      });
      stores.push(store);
      await store.ready();
      return store;
    },
  };
}

/** Child names of `path`, or none when it does not exist. */
export async function childrenOrNone(store: CoordinationStore, path: string): Promise<string[]> {
  try {
    return await store.children(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'DISTCI_NO_NODE') return [];
    throw err;
  }
}
