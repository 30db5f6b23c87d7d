/**
 * The store's side of ZooKeeper watches: which caller watchers wait on which path, so that
 * - one watcher function set many times on a path (by get, exists or children) fires once per event,
 *   as in ZooKeeper ("a watch object is triggered once for a given notification");
 * - an event consumes the watches ZooKeeper consumes: data-changed and created the data watches (get,
 *   exists), children-changed the child watches, deleted both;
 * - when the session ends, every watcher still waiting fires once with `session-lost` (the client
 *   itself would just forget them).
 *
 * node-zookeeper-client gets one listener per (path, kind) from `listener()`; it keeps one copy of a
 * function per path and kind, and hands every listener of one notification the same Event object, which
 * is how a watcher set both as data and child watch fires once for a deletion.
 */

import type { WatchEventType, Watcher } from '@distci/common';
import zookeeper, { type Event } from 'node-zookeeper-client';

/** `data` covers get and exists (ZooKeeper's data and exist watches fire on the same events). */
export type WatchKind = 'data' | 'child';

interface Registration {
  kinds: Set<WatchKind>;
  /** The last notification delivered, so the listeners of several kinds deliver it once. */
  lastEvent: Event | undefined;
}

const { Event: ZkEvent } = zookeeper;
const EVENT_TYPES = new Map<number, WatchEventType>([
  [ZkEvent.NODE_CREATED, 'created'],
  [ZkEvent.NODE_DELETED, 'deleted'],
  [ZkEvent.NODE_DATA_CHANGED, 'data-changed'],
  [ZkEvent.NODE_CHILDREN_CHANGED, 'children-changed'],
]);

export class WatchRegistry {
  private readonly byPath = new Map<string, Map<Watcher, Registration>>();
  private readonly listeners = new Map<string, (event: Event) => void>();

  /** The function to give the client for a watch of `kind` on `path` (paths relative to the chroot). */
  listener(path: string, kind: WatchKind): (event: Event) => void {
    const key = `${kind}:${path}`;
    let listener = this.listeners.get(key);
    if (!listener) {
      listener = (event) => this.dispatch(path, kind, event);
      this.listeners.set(key, listener);
    }
    return listener;
  }

  /** Records `watcher` once the call that set its watch succeeded (only then does the server hold it). */
  arm(path: string, kind: WatchKind, watcher: Watcher): void {
    let watchers = this.byPath.get(path);
    if (!watchers) {
      watchers = new Map();
      this.byPath.set(path, watchers);
    }
    const registration = watchers.get(watcher) ?? { kinds: new Set<WatchKind>(), lastEvent: undefined };
    registration.kinds.add(kind);
    watchers.set(watcher, registration);
  }

  /** The session ended: every waiting watcher fires once with `session-lost`, and all are forgotten. */
  sessionLost(): void {
    const pending = [...this.byPath].flatMap(([path, watchers]) => [...watchers.keys()].map((w) => ({ path, w })));
    this.clear();
    for (const { path, w } of pending) call(w, 'session-lost', path);
  }

  clear(): void {
    this.byPath.clear();
    this.listeners.clear();
  }

  private dispatch(path: string, kind: WatchKind, event: Event): void {
    const watchers = this.byPath.get(path);
    if (!watchers) return;
    const type = EVENT_TYPES.get(event.getType());
    const due: Watcher[] = [];
    for (const [watcher, registration] of watchers) {
      if (!registration.kinds.delete(kind)) continue;
      if (registration.kinds.size === 0) watchers.delete(watcher);
      if (registration.lastEvent === event) continue;
      registration.lastEvent = event;
      due.push(watcher);
    }
    if (watchers.size === 0) this.byPath.delete(path);
    if (![...watchers.values()].some((r) => r.kinds.has(kind))) this.listeners.delete(`${kind}:${path}`);
    if (type) for (const watcher of due) call(watcher, type, path);
  }
}

function call(watcher: Watcher, type: WatchEventType, path: string): void {
  try {
    watcher({ type, path });
  } catch {
    // A watcher must not throw (contract); one that does must not stop the others.
  }
}
