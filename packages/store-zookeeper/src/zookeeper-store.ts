/**
 * The ZooKeeper adapter of `CoordinationStore` (contract in `coordination-store.ts`), on
 * node-zookeeper-client 1.1.3 (pure JS; the only Node client with `multi`).
 *
 * Sessions: one node-zookeeper-client `Client` per ZooKeeper session. Within a session the client
 * reconnects by itself (`suspended` → `connected`, same `sessionId`, watches re-registered by the client
 * with SetWatches). When the session ends — the server says so on reconnect, or we have been cut off so
 * long that it must have (see LOCAL_EXPIRY_FACTOR) — the store goes `expired`, fails what was in flight
 * with DISTCI_SESSION_EXPIRED, fires every pending watch once with `session-lost`, drops that client and
 * opens a new session with a new one.
 *
 * Operations run only on a `connected` session. One issued while not connected waits for the connection
 * up to `connectTimeoutMs`, then fails with DISTCI_CONNECTION_LOSS; one in flight when the connection
 * drops fails with DISTCI_CONNECTION_LOSS (its outcome is unknown) — never retried here, because only the
 * caller knows whether a retry is safe.
 *
 * The chroot is handled here, not by the client: every path is prefixed on the way out and stripped on
 * the way back, and each new session first creates the chroot if it is missing.
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
  Watcher,
} from '@distci/common';
import { type DistciError, distciError, isDistciError } from '@distci/common';
import zookeeper, { type Client, type Transaction } from 'node-zookeeper-client';
import {
  fromServerPath,
  sessionIdHex,
  toBuffer,
  toNodeStat,
  toServerPath,
  validatePath,
  zkCreateMode,
} from './zookeeper-codec.js';
import {
  connectionLossError,
  mapZkError,
  protocolError,
  sessionExpiredError,
  storeClosedError,
  type ZkCallSite,
  zkErrorCode,
} from './zookeeper-errors.js';
import { fixLastOpVersion, type ManagedConnection, manageConnection } from './zookeeper-internals.js';
import { WatchRegistry } from './zookeeper-watches.js';

const { State, Exception } = zookeeper;

export interface ZooKeeperStoreOptions {
  /** `host:port[,host:port…]`, without a chroot. */
  connect: string;
  /** Every path lives under this node, created when missing (`/distci`); '' or '/' for none. */
  chroot: string;
  /** Requested session timeout; the server may negotiate it into its [min, max] range. */
  sessionTimeoutMs: number;
  /** How long an operation waits for a connected session before DISTCI_CONNECTION_LOSS (default: the session timeout). */
  connectTimeoutMs?: number;
}

/**
 * 1.5 × the session timeout of being suspended: the server expires a session one timeout (rounded up to
 * its next tick) after it last heard from the client, and it heard from us no later than the moment we
 * went suspended; a tick is at most half a session timeout (ZooKeeper's minimum session is 2 ticks). So by
 * then the session is gone — except across a one-way partition, where fencing (DESIGN.md invariant 4) holds.
 */
const LOCAL_EXPIRY_FACTOR = 1.5;
/** 2 s: a healthy server answers closeSession in milliseconds; an unreachable one lets the session time out. */
const CLOSE_WAIT_MS = 2000;

interface Session {
  generation: number;
  client: Client;
  connection: ManagedConnection;
  /** The server accepted the session (its id and timeout are known). */
  established: boolean;
  /** The chroot exists (checked once per session). */
  chrootReady: boolean;
}

interface PendingOp {
  site: ZkCallSite;
  dispatch(client: Client): void;
  fail(err: DistciError): void;
}

type Done<T> = (err: unknown, value?: T) => void;

export function createZooKeeperStore(options: ZooKeeperStoreOptions): CoordinationStore {
  return new ZooKeeperStore(options);
}

class ZooKeeperStore implements CoordinationStore {
  readonly kind = 'zookeeper';
  private readonly connect: string;
  private readonly chroot: string;
  private readonly requestedTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private currentState: SessionState = 'connecting';
  private currentSessionId: string | null = null;
  private session: Session | undefined;
  private generation = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private localExpiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why the chroot could not be created, while that blocks the session. */
  private chrootError: DistciError | undefined;
  private readonly listeners = new Set<SessionListener>();
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();
  private readonly waiting = new Set<PendingOp>();
  private readonly inFlight = new Set<PendingOp>();
  private readonly watches = new WatchRegistry();

  constructor(options: ZooKeeperStoreOptions) {
    this.connect = checkConnect(options.connect);
    this.chroot = checkChroot(options.chroot);
    this.requestedTimeoutMs = checkMs('sessionTimeoutMs', options.sessionTimeoutMs);
    this.connectTimeoutMs = checkMs('connectTimeoutMs', options.connectTimeoutMs ?? options.sessionTimeoutMs);
    this.startSession();
  }

  get state(): SessionState {
    return this.currentState;
  }

  get sessionId(): string | null {
    return this.currentSessionId;
  }

  get sessionTimeoutMs(): number {
    return this.session?.established ? this.session.connection.sessionTimeoutMs() : this.requestedTimeoutMs;
  }

  ready(): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    if (this.closed) return Promise.reject(storeClosedError({ op: 'ready', path: '/' }));
    if (this.chrootError) return Promise.reject(this.chrootError);
    return new Promise((resolve, reject) => {
      this.readyWaiters.add({ resolve, reject });
    });
  }

  onState(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async create(path: string, data?: Uint8Array, mode?: CreateMode): Promise<string> {
    validatePath(path, 'create');
    const zkMode = zkCreateMode(mode);
    const bytes = toBuffer(data);
    return this.call<string>({ op: 'create', path }, (client, done) =>
      client.create(this.serverPath(path), bytes, zkMode, (err, created) =>
        done(err, err ? undefined : fromServerPath(this.chroot, created)),
      ),
    );
  }

  async ensurePath(path: string): Promise<void> {
    validatePath(path, 'ensurePath');
    if (path === '/') return;
    // Read first: in distci the path almost always exists already (queues, claim parents, builds
    // parents), and a read costs no write, while a create that fails with NodeExists still goes
    // through the leader as a write transaction (the bench counted them as failed writes).
    if ((await this.exists(path)) !== null) return;
    try {
      await this.create(path);
    } catch (err) {
      if (isDistciError(err, 'DISTCI_NODE_EXISTS')) return;
      if (!isDistciError(err, 'DISTCI_NO_NODE')) throw err;
      await this.ensurePath(path.slice(0, path.lastIndexOf('/')) || '/');
      await this.create(path).catch((again: unknown) => {
        if (!isDistciError(again, 'DISTCI_NODE_EXISTS')) throw again;
      });
    }
  }

  async get(path: string, watcher?: Watcher): Promise<NodeData> {
    validatePath(path, 'get');
    return this.call<NodeData>({ op: 'get', path }, (client, done) => {
      const callback = (err: unknown, data: Buffer | undefined, stat: zookeeper.Stat) => {
        if (err) return done(err);
        if (watcher) this.watches.arm(path, 'data', watcher);
        done(null, { data: data ?? Buffer.alloc(0), stat: toNodeStat(stat) });
      };
      if (watcher) client.getData(this.serverPath(path), this.watches.listener(path, 'data'), callback);
      else client.getData(this.serverPath(path), callback);
    });
  }

  async set(path: string, data: Uint8Array, version = -1): Promise<NodeStat> {
    validatePath(path, 'set');
    const bytes = toBuffer(data);
    return this.call<NodeStat>({ op: 'set', path }, (client, done) =>
      client.setData(this.serverPath(path), bytes, version, (err, stat) =>
        done(err, err ? undefined : toNodeStat(stat)),
      ),
    );
  }

  async delete(path: string, version = -1): Promise<void> {
    validatePath(path, 'delete');
    if (path === '/') throw rootDeleteError();
    return this.call<void>({ op: 'delete', path }, (client, done) =>
      client.remove(this.serverPath(path), version, (err) => done(err)),
    );
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    validatePath(path, 'exists');
    return this.call<NodeStat | null>({ op: 'exists', path }, (client, done) => {
      const callback = (err: unknown, stat: zookeeper.Stat | null) => {
        if (err) return done(err);
        // On a missing node the server keeps an exist watch, which fires on the same events as a data watch.
        if (watcher) this.watches.arm(path, 'data', watcher);
        done(null, stat ? toNodeStat(stat) : null);
      };
      if (watcher) client.exists(this.serverPath(path), this.watches.listener(path, 'data'), callback);
      else client.exists(this.serverPath(path), callback);
    });
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    validatePath(path, 'children');
    return this.call<string[]>({ op: 'children', path }, (client, done) => {
      const callback = (err: unknown, names: string[]) => {
        if (err) return done(err);
        if (watcher) this.watches.arm(path, 'child', watcher);
        done(null, [...names].sort());
      };
      if (watcher) client.getChildren(this.serverPath(path), this.watches.listener(path, 'child'), callback);
      else client.getChildren(this.serverPath(path), callback);
    });
  }

  async multi(ops: readonly Op[]): Promise<OpResult[]> {
    ops.forEach((op, opIndex) => {
      validatePath(op.path, `multi/${op.type}`);
      if (op.type === 'delete' && op.path === '/') throw rootDeleteError(opIndex);
    });
    if (this.closed) throw storeClosedError({ op: 'multi', path: ops[0]?.path ?? '/' });
    if (ops.length === 0) return [];
    return this.call<OpResult[]>({ op: 'multi', path: ops[0]!.path }, (client, done) => {
      const tx = client.transaction();
      for (const op of ops) this.addToTransaction(tx, op);
      tx.commit((err, results: unknown) => {
        if (!err)
          return done(
            null,
            ops.map((op, i) => this.opResult(op, (results as MultiResult[])[i])),
          );
        // A refused multi answers one result per op: OK before the failing op, its error, then
        // RUNTIME_INCONSISTENCY after it. Without results, the multi itself failed (connection loss).
        const opIndex = Array.isArray(results)
          ? (results as MultiResult[]).findIndex((r) => r.err !== undefined && r.err !== Exception.OK)
          : -1;
        const op = ops[opIndex];
        if (!op) return done(err);
        done(mapZkError(err, { op: `multi/${op.type}`, path: op.path, opIndex }));
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- operations ----

  private serverPath(path: string): string {
    return toServerPath(this.chroot, path);
  }

  /**
   * Runs one client call on the connected session, or waits up to `connectTimeoutMs` for one. Settles
   * exactly once, whatever comes first: the client's answer, the wait's end, the session's expiry, close.
   */
  private call<T>(site: ZkCallSite, start: (client: Client, done: Done<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(storeClosedError(site));
      if (this.chrootError) return reject(this.chrootError);
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiting.delete(op);
        this.inFlight.delete(op);
        if (err) reject(isDistciError(err) ? err : mapZkError(err, site));
        else resolve(value as T);
      };
      const op: PendingOp = {
        site,
        fail: (err) => settle(err),
        dispatch: (client) => {
          clearTimeout(timer);
          this.waiting.delete(op);
          this.inFlight.add(op);
          try {
            start(client, settle);
          } catch (err) {
            // node-zookeeper-client asserts its arguments synchronously.
            settle(err);
          }
        },
      };
      if (this.currentState === 'connected' && this.session) return op.dispatch(this.session.client);
      this.waiting.add(op);
      timer = setTimeout(() => settle(connectionLossError(site, this.connectTimeoutMs)), this.connectTimeoutMs);
    });
  }

  private flushWaiting(): void {
    const session = this.session;
    if (!session) return;
    for (const op of [...this.waiting]) op.dispatch(session.client);
  }

  private addToTransaction(tx: Transaction, op: Op): void {
    const path = this.serverPath(op.path);
    switch (op.type) {
      case 'check':
        tx.check(path, op.version);
        fixLastOpVersion(tx, op.version);
        break;
      case 'create':
        tx.create(path, toBuffer(op.data), zkCreateMode(op.mode));
        break;
      case 'set':
        tx.setData(path, toBuffer(op.data), op.version ?? -1);
        fixLastOpVersion(tx, op.version ?? -1);
        break;
      case 'delete':
        tx.remove(path, op.version ?? -1);
        fixLastOpVersion(tx, op.version ?? -1);
        break;
    }
  }

  private opResult(op: Op, result: MultiResult | undefined): OpResult {
    switch (op.type) {
      case 'create':
        return { type: 'create', path: fromServerPath(this.chroot, result?.path ?? '') };
      case 'set':
        if (!result?.stat)
          throw distciError('DISTCI_COORDINATION_ERROR', `multi/set '${op.path}': no stat in the answer`);
        return { type: 'set', stat: toNodeStat(result.stat) };
      default:
        return { type: op.type };
    }
  }

  // ---- sessions ----

  private startSession(): void {
    const generation = ++this.generation;
    const client = zookeeper.createClient(this.connect, { sessionTimeout: this.requestedTimeoutMs, retries: 0 });
    const connection = manageConnection(client, {
      onSilence: () => {
        const session = this.session;
        // Before the server accepted the session there is nothing to suspend or expire: just reconnect.
        if (session?.generation !== generation || !session.established || this.closed) return;
        if (this.currentState === 'connected') this.setState('suspended');
        this.armLocalExpiry();
      },
      onProtocolError: (err) => {
        if (this.session?.generation !== generation) return;
        for (const op of [...this.inFlight]) op.fail(protocolError(op.site, err));
      },
    });
    const session: Session = { generation, client, connection, established: false, chrootReady: false };
    this.session = session;
    client.on('state', (state) => this.onClientState(session, state));
    client.connect();
  }

  private onClientState(session: Session, state: zookeeper.State): void {
    if (session !== this.session || this.closed) return;
    if (state === State.SYNC_CONNECTED) {
      this.clearLocalExpiry();
      if (!session.established) {
        session.established = true;
        this.currentSessionId = sessionIdHex(session.client.getSessionId());
      }
      if (session.chrootReady) this.connected();
      else this.prepareChroot(session);
    } else if (state === State.DISCONNECTED) {
      if (!session.established) return; // still trying to open the session
      if (this.currentState === 'connected') this.setState('suspended');
      this.armLocalExpiry();
    } else if (state === State.EXPIRED) {
      this.expire(session);
    }
  }

  private prepareChroot(session: Session): void {
    if (this.chroot === '') {
      session.chrootReady = true;
      this.connected();
      return;
    }
    session.client.mkdirp(this.chroot, (err) => {
      if (session !== this.session || this.closed) return;
      if (err) {
        const code = zkErrorCode(err);
        // Connection loss: the next `connected` tries again; expiry: handled by the EXPIRED state.
        if (code === Exception.CONNECTION_LOSS || code === Exception.SESSION_EXPIRED) return;
        // Anything else (an ACL, a bad chroot) will not heal by itself: fail whoever waits, now and later,
        // until a later session manages to create it.
        this.chrootError = mapZkError(err, { op: 'create chroot', path: this.chroot });
        for (const waiter of this.readyWaiters) waiter.reject(this.chrootError);
        this.readyWaiters.clear();
        for (const op of [...this.waiting]) op.fail(this.chrootError);
        return;
      }
      this.chrootError = undefined;
      session.chrootReady = true;
      if (session.client.getState() === State.SYNC_CONNECTED) this.connected();
    });
  }

  private connected(): void {
    this.setState('connected');
    for (const waiter of this.readyWaiters) waiter.resolve();
    this.readyWaiters.clear();
    this.flushWaiting();
  }

  private armLocalExpiry(): void {
    if (this.localExpiryTimer) return;
    const session = this.session;
    this.localExpiryTimer = setTimeout(
      () => {
        this.localExpiryTimer = undefined;
        if (session && session === this.session && !this.closed) this.expire(session);
      },
      Math.round(this.sessionTimeoutMs * LOCAL_EXPIRY_FACTOR),
    );
  }

  private clearLocalExpiry(): void {
    clearTimeout(this.localExpiryTimer);
    this.localExpiryTimer = undefined;
  }

  /** The session is over: tell everyone, then open a new one. */
  private expire(session: Session): void {
    this.clearLocalExpiry();
    session.client.removeAllListeners();
    session.connection.abandon();
    this.session = undefined;
    // Ops issued by listeners from here on wait for the new session; those issued before are lost.
    const lost = [...this.inFlight, ...this.waiting];
    this.setState('expired', this.currentSessionId);
    for (const op of lost) op.fail(sessionExpiredError(op.site));
    this.watches.sessionLost();
    if (this.closed) return; // a listener or watcher closed the store
    this.currentSessionId = null;
    this.startSession();
    this.setState('connecting', null);
  }

  private setState(state: SessionState, sessionId: string | null = this.currentSessionId): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state, sessionId);
      } catch {
        // Listeners must not throw; one that does must not stop the others or the state machine.
      }
    }
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.clearLocalExpiry();
    for (const op of [...this.waiting]) op.fail(storeClosedError(op.site));
    for (const waiter of this.readyWaiters) waiter.reject(storeClosedError({ op: 'ready', path: '/' }));
    this.readyWaiters.clear();
    const session = this.session;
    if (session) {
      // Ops already sent are answered before closeSession: they complete normally.
      await session.connection.close(CLOSE_WAIT_MS);
      session.client.removeAllListeners();
    }
    for (const op of [...this.inFlight]) op.fail(storeClosedError(op.site));
    this.watches.clear();
    this.session = undefined;
    this.currentSessionId = null;
    this.setState('closed', null);
    this.listeners.clear();
  }
}

/** One entry of node-zookeeper-client's multi answer (jute TransactionResponse). */
interface MultiResult {
  type: number;
  path?: string;
  stat?: zookeeper.Stat;
  err?: number;
}

function rootDeleteError(opIndex?: number): DistciError {
  return distciError('DISTCI_BAD_PATH', "delete '/': the store's root cannot be deleted", {
    hint: 'delete the nodes under it instead',
    details: { op: 'delete', path: '/', ...(opIndex === undefined ? {} : { opIndex }) },
  });
}

function checkConnect(connect: string): string {
  if (typeof connect !== 'string' || connect === '' || connect.includes('/')) {
    throw distciError('DISTCI_BAD_OPTION', `ZooKeeper connect string '${String(connect)}' is not valid`, {
      hint: 'use host:port[,host:port…] and give the chroot separately',
      details: { option: 'connect', value: String(connect) },
    });
  }
  return connect;
}

function checkChroot(chroot: string): string {
  if (chroot === '' || chroot === '/') return '';
  try {
    validatePath(chroot, 'chroot');
  } catch (err) {
    throw distciError('DISTCI_BAD_OPTION', `ZooKeeper chroot '${chroot}' is not valid`, {
      hint: 'use an absolute path like /distci',
      details: { option: 'chroot', value: chroot },
      cause: err,
    });
  }
  return chroot;
}

function checkMs(option: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw distciError('DISTCI_BAD_OPTION', `${option}=${String(value)} is not valid`, {
      hint: 'use a positive integer number of milliseconds',
      details: { option, value },
    });
  }
  return value;
}
