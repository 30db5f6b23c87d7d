/**
 * One client of the embedded coordination server: a `CoordinationStore` holding one session at a time,
 * with ZooKeeper's semantics (see coordination-store.ts). Ops run synchronously against the shared tree
 * when called; their promises resolve after that.
 *
 * Event order, as a ZooKeeper client sees it (measured on ZooKeeper 3.8 with node-zookeeper-client):
 * watch events and state changes are queued at commit time as microtasks, one FIFO for everything, so
 * - a watcher is never called inside the op that triggered it (no re-entrancy);
 * - events reach a client in commit order, and before the result of any op that client calls later
 *   ("a client sees a watch event before the new data", ZooKeeper's ordering guarantee);
 * - a client watching a node it changes itself sees the event just before its own op's result, as
 *   with ZooKeeper, where the notification precedes the reply on the wire.
 *
 * Session end: `expire()` (the server ended the session) drops the session at once (its ephemeral nodes
 * go in one transaction), then, in order: `expired`, every pending watch once with `session-lost`,
 * `connecting`, a new session, `connected`. Ops called until the `expired` listeners have run fail with
 * DISTCI_SESSION_EXPIRED, as ZooKeeper answers requests of an expired session: they were meant for the
 * old session (a claim created in the new one would outlive the caller's idea of it). Ops called later
 * (from a `session-lost` watcher, say) wait for the new session, as the ZooKeeper adapter queues them.
 * `close()` ends the session the same way but fires no watch: the caller asked for it.
 */
import type {
  CoordinationStore,
  CreateMode,
  NodeData,
  NodeStat,
  Op,
  OpResult,
  SessionListener,
  SessionState,
  WatchEvent,
  Watcher,
} from '@distci/common';
import { distciError } from '@distci/common';
import type { EmbeddedCore, SessionHolder } from './embedded-core.js';
import { assertRequestSize, toTreeOp } from './embedded-ops.js';
import { toClientPath, toServerPath, validateNodePath } from './embedded-paths.js';
import type { TreeOp } from './embedded-tree.js';
import { type Trigger, WatchRegistry } from './embedded-watches.js';

/** ZooKeeper with the default tickTime of 2000 ms grants a session timeout within [2, 20] ticks. */
export const MIN_SESSION_TIMEOUT_MS = 4_000;
export const MAX_SESSION_TIMEOUT_MS = 40_000;

type Waiter = { resolve: (sessionId: string) => void; reject: (err: Error) => void };

const rethrowLater = (err: unknown) => {
  // A watcher or listener must not throw (coordination-store.ts); when one does, fail loudly, as it
  // would from node-zookeeper-client's socket handler, but never in the middle of our delivery loop.
  setImmediate(() => {
    throw err;
  });
};

export class EmbeddedClient implements CoordinationStore, SessionHolder {
  readonly kind = 'embedded';
  readonly sessionTimeoutMs: number;
  private live: string | null = null;
  /** The session the server ended, until the client moves on to `connecting`. */
  private expiredSession: string | null = null;
  private shownState: SessionState = 'connecting';
  private shownSession: string | null = null;
  private readonly listeners = new Set<SessionListener>();
  private readonly watches = new WatchRegistry();
  private waiters: Waiter[] = [];
  private closing: Promise<void> | null = null;

  constructor(
    private readonly core: EmbeddedCore,
    private readonly chroot: string,
    requestedTimeoutMs: number,
    private readonly afterClose: () => Promise<void>,
  ) {
    this.sessionTimeoutMs = Math.min(MAX_SESSION_TIMEOUT_MS, Math.max(MIN_SESSION_TIMEOUT_MS, requestedTimeoutMs));
  }

  get sessionId(): string | null {
    return this.shownSession;
  }

  get state(): SessionState {
    return this.shownState;
  }

  /** Opens the first session and makes sure the chroot exists. */
  start(): void {
    const id = this.core.openSession(this);
    this.live = id;
    if (this.chroot !== '') this.ensureServerPath(this.chroot, id);
    this.publish('connected', id);
  }

  ready(): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    if (this.live !== null) return Promise.resolve();
    return this.waitSession(false).then(() => undefined);
  }

  onState(listener: SessionListener): () => void {
    const wrapped: SessionListener = (state, id) => listener(state, id);
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  async create(path: string, data?: Uint8Array, mode: CreateMode = 'persistent'): Promise<string> {
    const op = this.toTreeOp({ type: 'create', path, data, mode });
    const sid = this.live ?? (await this.waitSession());
    const [result] = this.core.write([op], sid, false, this.show);
    return toClientPath(this.chroot, (result as { path: string }).path);
  }

  async ensurePath(path: string): Promise<void> {
    validateNodePath(path);
    const sid = this.live ?? (await this.waitSession());
    this.ensureServerPath(toServerPath(this.chroot, path), sid);
  }

  async get(path: string, watcher?: Watcher): Promise<NodeData> {
    const server = toServerPath(this.chroot, validateNodePath(path));
    if (this.live === null) await this.waitSession();
    const node = this.core.tree.node(server);
    if (!node) throw this.noNode(path);
    if (watcher) this.watches.add('data', server, watcher);
    return { data: Buffer.from(node.data), stat: this.core.tree.stat(node) };
  }

  async set(path: string, data: Uint8Array, version?: number): Promise<NodeStat> {
    const op = this.toTreeOp({ type: 'set', path, data, version });
    const sid = this.live ?? (await this.waitSession());
    const [result] = this.core.write([op], sid, false, this.show);
    return (result as { stat: NodeStat }).stat;
  }

  async delete(path: string, version?: number): Promise<void> {
    const op = this.toTreeOp({ type: 'delete', path, version });
    const sid = this.live ?? (await this.waitSession());
    this.core.write([op], sid, false, this.show);
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    const server = toServerPath(this.chroot, validateNodePath(path));
    if (this.live === null) await this.waitSession();
    // ZooKeeper sets the watch whether or not the node exists: on a missing node it waits for `created`.
    if (watcher) this.watches.add('data', server, watcher);
    const node = this.core.tree.node(server);
    return node ? this.core.tree.stat(node) : null;
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    const server = toServerPath(this.chroot, validateNodePath(path));
    if (this.live === null) await this.waitSession();
    const node = this.core.tree.node(server);
    if (!node) throw this.noNode(path);
    if (watcher) this.watches.add('child', server, watcher);
    return this.core.tree.childNames(node);
  }

  async multi(ops: readonly Op[]): Promise<OpResult[]> {
    const treeOps = ops.map((op, i) => this.toTreeOp(op, i));
    assertRequestSize(treeOps);
    const sid = this.live ?? (await this.waitSession());
    const results = this.core.write(treeOps, sid, true, this.show);
    return results.map((r) => (r.type === 'create' ? { type: 'create', path: toClientPath(this.chroot, r.path) } : r));
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.watches.takeAll();
    const old = this.live;
    this.live = null;
    const err = this.closedError();
    for (const w of this.waiters.splice(0)) w.reject(err);
    let failure: unknown = null;
    try {
      if (old !== null && !this.core.closed) this.core.endSession(old);
    } catch (e) {
      failure = e;
    }
    this.publish('closed', null);
    this.closing = (async () => {
      await this.afterClose();
      if (failure) throw failure;
    })();
    return this.closing;
  }

  /** The server ended this session (see header); resolves once the new session is connected. */
  expire(): Promise<void> {
    const old = this.live;
    if (old === null || this.closing) return Promise.resolve();
    const pending = this.watches.takeAll();
    this.live = null;
    this.expiredSession = old;
    this.core.endSession(old);
    return new Promise((resolve) => {
      queueMicrotask(() => {
        if (!this.closing) {
          this.publish('expired', old);
          // From here on, ops are for the next session (a session-lost watcher re-reading, say).
          this.expiredSession = null;
          for (const { path, watcher } of pending) {
            this.deliver(watcher, { type: 'session-lost', path: toClientPath(this.chroot, path) });
          }
          this.publish('connecting', null);
          if (!this.closing && !this.core.closed) this.reconnect();
        }
        resolve();
      });
    });
  }

  onCommit(triggers: readonly Trigger[]): void {
    if (this.watches.empty) return;
    const fired: Array<[Watcher, WatchEvent]> = [];
    for (const trigger of triggers) {
      for (const watcher of this.watches.take(trigger)) {
        fired.push([watcher, { type: trigger.type, path: toClientPath(this.chroot, trigger.path) }]);
      }
    }
    if (fired.length === 0) return;
    queueMicrotask(() => {
      if (this.closing) return;
      for (const [watcher, event] of fired) this.deliver(watcher, event);
    });
  }

  private reconnect(): void {
    const id = this.core.openSession(this);
    this.live = id;
    this.publish('connected', id);
  }

  private readonly show = (path: string): string =>
    this.chroot === '' || path === this.chroot || path.startsWith(`${this.chroot}/`)
      ? toClientPath(this.chroot, path)
      : path;

  private publish(state: SessionState, sessionId: string | null): void {
    this.shownState = state;
    this.shownSession = state === 'connected' ? sessionId : null;
    if (state === 'connected' && sessionId !== null) {
      for (const w of this.waiters.splice(0)) w.resolve(sessionId);
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(state, sessionId);
      } catch (err) {
        rethrowLater(err);
      }
    }
  }

  private deliver(watcher: Watcher, event: WatchEvent): void {
    try {
      watcher(event);
    } catch (err) {
      rethrowLater(err);
    }
  }

  /** The next session's id; for an op (`forOp`), an expired session not yet left behind is an error. */
  private waitSession(forOp = true): Promise<string> {
    if (this.closing || this.core.closed) return Promise.reject(this.closedError());
    if (forOp && this.expiredSession !== null) {
      return Promise.reject(
        distciError('DISTCI_SESSION_EXPIRED', `session ${this.expiredSession} expired`, {
          hint: 'its ephemeral nodes (claims) are gone: abandon what you did under it; a new session opens by itself',
          details: { sessionId: this.expiredSession },
        }),
      );
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Creates `path` (a server path) and its missing ancestors as persistent nodes, one create each. */
  private ensureServerPath(path: string, sessionId: string): void {
    let prefix = '';
    for (const segment of path.split('/').slice(1)) {
      prefix += `/${segment}`;
      if (this.core.tree.node(prefix)) continue;
      const op: TreeOp = { type: 'create', path: prefix, data: Buffer.alloc(0), mode: 'persistent' };
      this.core.write([op], sessionId, false, this.show);
    }
  }

  private toTreeOp(op: Op, opIndex?: number): TreeOp {
    if (this.closing) throw this.closedError();
    const treeOp = toTreeOp(op, this.chroot, opIndex);
    if (opIndex === undefined) assertRequestSize([treeOp]);
    return treeOp;
  }

  private noNode(path: string): Error {
    return distciError('DISTCI_NO_NODE', `no node at '${path}'`, {
      hint: 'check the path, or create the node first',
      details: { path },
    });
  }

  private closedError(): Error {
    return distciError('DISTCI_STORE_CLOSED', 'the embedded coordination store is closed', {
      hint: 'open a new store to go on',
    });
  }
}
