/**
 * The children of a node, or none when the node is not there: the one way the domain lists a parent
 * that appears lazily (a job's first build, a kind's first ticket, queue or claim).
 */
import type { CoordinationStore, Watcher } from './coordination-store.js';
import { isDistciError } from './errors.js';

/**
 * `store.children(path)`, or `[]` on NoNode. With a watcher, a missing node gets an existence watch
 * instead, so the caller hears when it appears (then lists again).
 */
export async function childrenOrEmpty(store: CoordinationStore, path: string, watcher?: Watcher): Promise<string[]> {
  try {
    return await store.children(path, watcher);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) {
      if (watcher) await store.exists(path, watcher);
      return [];
    }
    throw err;
  }
}

/** `read()`, or null when what it reads is gone (NoNode): for a node removed between a list and a get. */
export async function orNullOnNoNode<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (isDistciError(err, 'DISTCI_NO_NODE')) return null;
    throw err;
  }
}
