/**
 * The one place that reaches into node-zookeeper-client 1.1.3's private ConnectionManager, and why:
 *
 * 1. **Silence watchdog.** The client has no read timeout (its issue #13): during a *silent* partition
 *    (packets dropped, no RST) it never notices the connection is dead, so a worker would go on running
 *    tickets whose claims the server already expired (DESIGN.md, "Known trap"). Like the Java client we
 *    watch the bytes coming from the server: the client pings after `sessionTimeout / 3` of idleness
 *    (`pingTimeout`) and the server answers every ping, so a healthy connection never goes 2/3 of the
 *    session timeout without a byte. When one does, we destroy the socket; the client then reconnects.
 *    The same rule bounds the connect handshake: the client clears its connect timer once TCP connects,
 *    so without it a server that accepts but never answers would hang the client forever.
 * 2. **Reconnect backoff.** The client retries a dead server at once and then after a random 0-1 s,
 *    forever; we replace `findNextServer` with a jittered exponential backoff and a way to stop it.
 * 3. **Abandoning a client without ending its session.** `close()` queues a closeSession request that
 *    waits for a connection; an expired (or unreachable) session's client must just stop, at once,
 *    releasing its socket and timers and never reconnecting.
 * 4. **Unknown server error codes.** The client throws from its socket handler on an error code it does
 *    not know (ZooKeeper 3.5+ added several: -118 SESSIONMOVED, -127 THROTTLEDOP, …): an uncaught
 *    exception that would kill the process, with the request's callback never called. We catch it, tell
 *    the store (which fails the requests in flight with DISTCI_CONNECTION_LOSS) and drop the connection.
 * 5. **multi versions.** `Transaction.check/setData/remove` do `version = version || -1`, turning version
 *    0 into "any version": a fencing check of a node never set since its creation would always pass.
 *    We write the caller's version back into the queued op.
 *
 * Everything here is checked against the client's shape at start-up, so an upgrade that changes these
 * internals fails loudly (DISTCI_INTERNAL) instead of silently losing the watchdog.
 */
import type { Socket } from 'node:net';
import { distciError } from '@distci/common';
import type { Client, Transaction } from 'node-zookeeper-client';

/** The ConnectionManager fields and methods used here (node-zookeeper-client 1.1.3, lib/ConnectionManager.js). */
interface ConnectionManager {
  socket: Socket | undefined;
  state: number;
  sessionTimeout: number;
  servers: unknown[];
  nextServerIndex: number;
  connectTimeoutHandler: ReturnType<typeof setTimeout> | null;
  pendingBuffer: Buffer | null;
  findNextServer(callback: (server: unknown) => void): void;
  onSocketData(buffer: Buffer): void;
  on(event: 'state', listener: (state: number) => void): void;
  removeListener(event: 'state', listener: (state: number) => void): void;
}

/** ConnectionManager.STATES values used here. */
const CM_CONNECTED = 2;
const CM_CLOSING = -1;
const CM_CLOSED = -2;

/** First reconnect delay after a lost connection: long enough to spread a herd, short next to any session. */
const BACKOFF_BASE_MS = 50;
/** 1 s: the Java client's spin delay; a server that is down for long costs one attempt a second. */
const BACKOFF_CAP_MS = 1000;

export interface ConnectionHooks {
  /**
   * The watchdog found the connection silent for `silentMs` (≥ 2/3 of the session timeout). Called
   * before the socket is destroyed, so the store can go `suspended` first.
   */
  onSilence(silentMs: number): void;
  /** The client failed to process the server's bytes; the connection is dropped right after. */
  onProtocolError(err: unknown): void;
}

export interface ManagedConnection {
  /** The negotiated session timeout (the requested one until a session exists). */
  sessionTimeoutMs(): number;
  /** Sends closeSession if connected and waits up to `timeoutMs` for the server to hang up; then abandons. */
  close(timeoutMs: number): Promise<void>;
  /** Stops the client at once without ending its session: socket destroyed, timers cleared, no reconnect. */
  abandon(): void;
}

function connectionManagerOf(client: Client): ConnectionManager {
  const cm = (client as unknown as { connectionManager?: Partial<ConnectionManager> }).connectionManager;
  if (
    !cm ||
    typeof cm.findNextServer !== 'function' ||
    typeof cm.onSocketData !== 'function' ||
    !Array.isArray(cm.servers) ||
    typeof cm.sessionTimeout !== 'number' ||
    typeof cm.state !== 'number'
  ) {
    throw distciError('DISTCI_INTERNAL', 'node-zookeeper-client has an unexpected shape', {
      hint: 'the ZooKeeper adapter reaches into node-zookeeper-client 1.1.x internals; pin that version',
    });
  }
  return cm as ConnectionManager;
}

/**
 * Installs the watchdog and the backoff on a client that has not connected yet. Call before `connect()`.
 */
export function manageConnection(client: Client, hooks: ConnectionHooks): ManagedConnection {
  const cm = connectionManagerOf(client);
  let abandoned = false;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let watchdogTimer: ReturnType<typeof setTimeout> | undefined;
  let watchdogRecheck: ReturnType<typeof setImmediate> | undefined;

  const stopWatchdog = () => {
    clearTimeout(watchdogTimer);
    if (watchdogRecheck) clearImmediate(watchdogRecheck);
    watchdogTimer = undefined;
    watchdogRecheck = undefined;
  };

  const watch = (socket: Socket) => {
    stopWatchdog();
    let lastByteAt = Date.now();
    socket.on('data', () => {
      lastByteAt = Date.now();
    });
    socket.on('close', () => {
      if (cm.socket === socket) stopWatchdog();
    });
    // 2/3 of the negotiated timeout (the Java client's read timeout): two pings go unanswered by then.
    const limit = () => Math.floor((cm.sessionTimeout * 2) / 3);
    const check = () => {
      watchdogTimer = undefined;
      if (abandoned || cm.socket !== socket || socket.destroyed) return;
      const silent = Date.now() - lastByteAt;
      if (silent < limit()) {
        watchdogTimer = setTimeout(check, limit() - silent);
        return;
      }
      // Timers run before the event loop polls sockets: after a long stall of this process the answer
      // may sit unread in the kernel. Look again after the poll phase (setImmediate) before judging.
      watchdogRecheck = setImmediate(() => {
        watchdogRecheck = undefined;
        if (abandoned || cm.socket !== socket || socket.destroyed) return;
        const silentNow = Date.now() - lastByteAt;
        if (silentNow < limit()) return check();
        hooks.onSilence(silentNow);
        socket.destroy();
      });
    };
    watchdogTimer = setTimeout(check, limit());
  };

  cm.findNextServer = (callback) => {
    if (abandoned) return;
    const server = cm.servers[cm.nextServerIndex % cm.servers.length];
    cm.nextServerIndex += 1;
    // The first connect goes at once; every later attempt waits 50 ms, 100 ms, … up to 1 s (and at most
    // a quarter of the session timeout, so a short outage still leaves several tries before it expires),
    // jittered to half..full so clients cut off together do not reconnect together.
    const ceiling = Math.min(BACKOFF_CAP_MS, cm.sessionTimeout / 4, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
    const delay = attempt === 0 ? 0 : ceiling * (0.5 + Math.random() / 2);
    attempt += 1;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      if (abandoned) return;
      callback(server);
      if (cm.socket) watch(cm.socket);
    }, delay);
  };

  // `connect()` binds `this.onSocketData` to each new socket, so an own property here is what it binds.
  const onSocketData = cm.onSocketData;
  cm.onSocketData = function guardedOnSocketData(this: ConnectionManager, buffer: Buffer) {
    try {
      onSocketData.call(this, buffer);
    } catch (err) {
      // The rest of the buffer is lost and a request may have been dequeued without an answer.
      this.pendingBuffer = null;
      hooks.onProtocolError(err);
      this.socket?.destroy();
    }
  };

  const onState = (state: number) => {
    // After a connection that worked, the next reconnect starts from the base delay again.
    if (state === CM_CONNECTED) attempt = 1;
  };
  cm.on('state', onState);

  const abandon = () => {
    if (abandoned) return;
    abandoned = true;
    clearTimeout(reconnectTimer);
    stopWatchdog();
    if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
    cm.removeListener('state', onState);
    // CLOSING makes the client's socket-close handler fail pending requests and stop instead of reconnecting.
    cm.state = CM_CLOSING;
    cm.socket?.destroy();
  };

  return {
    sessionTimeoutMs: () => cm.sessionTimeout,
    abandon,
    async close(timeoutMs) {
      if (!abandoned && cm.state === CM_CONNECTED) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            cm.removeListener('state', onClosed);
            resolve();
          };
          const onClosed = (state: number) => {
            if (state === CM_CLOSED) done();
          };
          const timer = setTimeout(done, timeoutMs);
          cm.on('state', onClosed);
          client.close();
        });
      }
      abandon();
    },
  };
}

/**
 * Writes `version` into the op a `Transaction` method just queued (see 4. above). `version` -1 means any.
 */
export function fixLastOpVersion(tx: Transaction, version: number): void {
  const ops = (tx as unknown as { ops?: Array<{ version?: number }> }).ops;
  const last = ops?.[ops.length - 1];
  if (!last || !('version' in last)) {
    throw distciError('DISTCI_INTERNAL', 'node-zookeeper-client Transaction has an unexpected shape', {
      hint: 'the ZooKeeper adapter reaches into node-zookeeper-client 1.1.x internals; pin that version',
    });
  }
  last.version = version;
}
