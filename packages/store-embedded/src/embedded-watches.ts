/**
 * One client's pending one-shot watches, keyed by server path, with ZooKeeper's client-side rules
 * (`ZKWatchManager.materialize`): a data watch (from `get`, or `exists` whether or not the node exists)
 * fires on `created`, `data-changed` and `deleted`; a child watch (from `children`) fires on
 * `children-changed` and `deleted`. A watcher function registered several times for one path fires
 * once per event (the Java client keeps a set of watchers per path and unions the sets of an event).
 */
import type { WatchEventType, Watcher } from '@distci/common';
import { parentPath } from './embedded-paths.js';
import type { TreeChange } from './embedded-tree.js';

export type WatchKind = 'data' | 'child';

/** A change as watchers see it: an event type at a server path. */
export interface Trigger {
  type: Exclude<WatchEventType, 'session-lost'>;
  path: string;
}

/** The triggers of a committed transaction, in ZooKeeper's order (DataTree.createNode/deleteNode/setData). */
export function triggersOf(changes: readonly TreeChange[]): Trigger[] {
  const out: Trigger[] = [];
  for (const change of changes) {
    if (change.op === 'set') {
      out.push({ type: 'data-changed', path: change.path });
    } else {
      out.push({ type: change.op === 'create' ? 'created' : 'deleted', path: change.path });
      out.push({ type: 'children-changed', path: parentPath(change.path) });
    }
  }
  return out;
}

export class WatchRegistry {
  private readonly data = new Map<string, Set<Watcher>>();
  private readonly child = new Map<string, Set<Watcher>>();

  get empty(): boolean {
    return this.data.size === 0 && this.child.size === 0;
  }

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const map = kind === 'data' ? this.data : this.child;
    let set = map.get(path);
    if (!set) {
      set = new Set();
      map.set(path, set);
    }
    set.add(watcher);
  }

  /** Removes and returns the watchers that `trigger` fires, each once. */
  take(trigger: Trigger): Watcher[] {
    const fired = new Set<Watcher>();
    const drain = (map: Map<string, Set<Watcher>>) => {
      const set = map.get(trigger.path);
      if (!set) return;
      map.delete(trigger.path);
      for (const w of set) fired.add(w);
    };
    if (trigger.type !== 'children-changed') drain(this.data);
    if (trigger.type === 'children-changed' || trigger.type === 'deleted') drain(this.child);
    return [...fired];
  }

  /** Removes every watch (the session ended): each (path, watcher) once, in registration order. */
  takeAll(): Array<{ path: string; watcher: Watcher }> {
    const out: Array<{ path: string; watcher: Watcher }> = [];
    const seen = new Map<string, Set<Watcher>>();
    for (const map of [this.data, this.child]) {
      for (const [path, set] of map) {
        let done = seen.get(path);
        if (!done) {
          done = new Set();
          seen.set(path, done);
        }
        for (const watcher of set) {
          if (done.has(watcher)) continue;
          done.add(watcher);
          out.push({ path, watcher });
        }
      }
      map.clear();
    }
    return out;
  }
}
