/**
 * CoordinationStore: what distci needs from ZooKeeper, in distci's words, not ZooKeeper's.
 *
 * Semantics (both adapters — ZooKeeper and embedded — pass one conformance suite proving them):
 * - A store is one client holding one **session** at a time. States:
 *   `connecting → connected ⇄ suspended → expired → connecting → connected (new session) … → closed`.
 *   `suspended` means the connection is lost but the session may still be alive: stop side effects,
 *   wait. `expired` means the server ended the session: every ephemeral node it owned (every claim)
 *   is gone, and every pending watch fires once with `session-lost`. The store then opens a new
 *   session by itself (a new `sessionId`) and emits `connected` again; it is the caller's job to
 *   abandon whatever it did under the old session.
 * - Paths are absolute (`/a/b`), relative to the store's chroot; `/` is the chroot itself.
 * - Versions are data versions: `set`, `delete` and `check` take the version a caller read, and fail
 *   with `DISTCI_BAD_VERSION` when the node changed since. `version` omitted = any version.
 * - Sequential creates append a 10-digit, zero-padded counter unique under the parent.
 * - Watches are one-shot callbacks. A data watch (`get`, `exists`) fires on `data-changed`, `deleted`
 *   or (for `exists` on a missing node) `created`; a child watch (`children`) fires on
 *   `children-changed` or `deleted`.
 * - `multi` is all-or-nothing: either every op applies, or none does and it throws the first failing
 *   op's error with `details.opIndex`.
 * - Errors: `DISTCI_NO_NODE`, `DISTCI_NODE_EXISTS`, `DISTCI_BAD_VERSION`, `DISTCI_NOT_EMPTY`,
 *   `DISTCI_NO_CHILDREN_FOR_EPHEMERALS`, `DISTCI_BAD_PATH`, and `DISTCI_CONNECTION_LOSS` (the outcome
 *   of that operation is unknown: re-read before retrying), `DISTCI_SESSION_EXPIRED`,
 *   `DISTCI_STORE_CLOSED`.
 */

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

export interface NodeStat {
  /** Data version, bumped by every `set`. */
  version: number;
  /** Child version, bumped by every create/delete of a child. */
  cversion: number;
  /** Creation and last modification times, ms since the epoch. */
  ctime: number;
  mtime: number;
  /** The id of the session owning this ephemeral node; null for persistent nodes. */
  ephemeralOwner: string | null;
  numChildren: number;
  dataLength: number;
}

export interface NodeData {
  data: Buffer;
  stat: NodeStat;
}

export type SessionState = 'connecting' | 'connected' | 'suspended' | 'expired' | 'closed';

export type WatchEventType = 'created' | 'deleted' | 'data-changed' | 'children-changed' | 'session-lost';

export interface WatchEvent {
  type: WatchEventType;
  /** The watched path (relative to the chroot). */
  path: string;
}

/** A one-shot watch callback. It must not throw. */
export type Watcher = (event: WatchEvent) => void;

export type Op =
  | { type: 'check'; path: string; version: number }
  | { type: 'create'; path: string; data?: Uint8Array; mode?: CreateMode }
  | { type: 'set'; path: string; data: Uint8Array; version?: number }
  | { type: 'delete'; path: string; version?: number };

export type OpResult =
  | { type: 'check' }
  | { type: 'create'; path: string }
  | { type: 'set'; stat: NodeStat }
  | { type: 'delete' };

export type SessionListener = (state: SessionState, sessionId: string | null) => void;

export interface CoordinationStore {
  /** Which adapter this is: `zookeeper` or `embedded`. */
  readonly kind: string;
  /** The current session's id (hex), or null while none is established. */
  readonly sessionId: string | null;
  readonly state: SessionState;
  /** The session timeout in ms (as negotiated with the server). */
  readonly sessionTimeoutMs: number;

  /** Resolves once a session is connected; rejects when the store is closed first. */
  ready(): Promise<void>;
  onState(listener: SessionListener): () => void;

  /** Creates a node; returns its actual path (with the sequence suffix for sequential modes). */
  create(path: string, data?: Uint8Array, mode?: CreateMode): Promise<string>;
  /** Creates `path` and its missing ancestors as empty persistent nodes; existing ones are kept. */
  ensurePath(path: string): Promise<void>;
  get(path: string, watcher?: Watcher): Promise<NodeData>;
  set(path: string, data: Uint8Array, version?: number): Promise<NodeStat>;
  delete(path: string, version?: number): Promise<void>;
  /** The node's stat, or null when it does not exist (the watcher then waits for `created`). */
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null>;
  /** Child names (not paths), sorted. */
  children(path: string, watcher?: Watcher): Promise<string[]>;
  multi(ops: readonly Op[]): Promise<OpResult[]>;

  /** Ends the session (its ephemeral nodes vanish at once) and releases every resource. */
  close(): Promise<void>;
}
