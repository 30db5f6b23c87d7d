/**
 * The embedded coordination server: ZooKeeper's semantics in this process, for one-machine use
 * (`distci dev`). Each `connect` is a new client with its own session, as each ZooKeeper client is;
 * `expireSession` does what a ZooKeeper server does to a client that went silent.
 *
 * With `dataDir`, persistent nodes and sequential counters survive a restart (embedded-persistence.ts)
 * and the directory is locked against a second process; without it, everything lives in memory.
 */
import type { CoordinationStore } from '@distci/common';
import { DEFAULT_SESSION_TIMEOUT_MS, distciError } from '@distci/common';
import { EmbeddedClient } from './embedded-client.js';
import { EmbeddedCore, type RecoveryInfo } from './embedded-core.js';
import { normalizeChroot } from './embedded-paths.js';

export interface EmbeddedServerOptions {
  /** Where the log and snapshots live; omitted: memory only. */
  dataDir?: string;
  /**
   * fdatasync each logged transaction before its op resolves. Default false: one write() per
   * transaction, which survives a crash or SIGKILL of the process but not a power loss. Measured
   * (bench/embedded-store.bench.ts, one client, each op awaited): ~90k creates/s without fsync,
   * ~5k/s with it.
   */
  fsync?: boolean;
  /** Snapshot after this many logged transactions (default 100,000, ZooKeeper's snapCount). */
  snapshotEveryTxns?: number;
  /** Snapshot after this many bytes of log (default 64 MiB). */
  snapshotEveryBytes?: number;
}

export interface EmbeddedConnectOptions {
  /** Requested session timeout; granted within [4000, 40000] ms as ZooKeeper does (default 10000). */
  sessionTimeoutMs?: number;
  /** Every path of this client is relative to it; created when missing. */
  chroot?: string;
}

export interface EmbeddedServer {
  /** The data dir, or null for a memory-only server. */
  readonly dataDir: string | null;
  /** What recovery found in the data dir (null for a memory-only server). */
  readonly recovery: RecoveryInfo | null;
  /** A new client with its own session, connected. */
  connect(options?: EmbeddedConnectOptions): Promise<CoordinationStore>;
  /**
   * Expires a session as ZooKeeper does when its client goes silent: its ephemeral nodes are deleted
   * (other sessions' watches fire), its client observes `expired`, each of its pending watches fires
   * once with `session-lost`, and it opens a new session by itself (`connected`, new sessionId).
   * Resolves once the client is connected again.
   */
  expireSession(sessionId: string): Promise<void>;
  /** Rolls the log and writes a snapshot now; resolves when it is durable (no-op in memory). */
  snapshot(): Promise<void>;
  /** Closes every client (their ephemeral nodes go), the log, and releases the data dir. */
  close(): Promise<void>;
}

export class EmbeddedServerImpl implements EmbeddedServer {
  readonly dataDir: string | null;
  private readonly core: EmbeddedCore;
  private readonly clients = new Set<EmbeddedClient>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: EmbeddedServerOptions = {}) {
    this.dataDir = options.dataDir ?? null;
    this.core = new EmbeddedCore(options);
  }

  get recovery(): RecoveryInfo | null {
    return this.core.recovery;
  }

  async connect(options: EmbeddedConnectOptions = {}, afterClose?: () => Promise<void>): Promise<CoordinationStore> {
    if (this.closed) throw this.closedError();
    const timeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw distciError('DISTCI_BAD_OPTION', `sessionTimeoutMs '${timeout}' is not valid`, {
        hint: 'use a positive number of ms, e.g. 10000',
        details: { option: 'sessionTimeoutMs', value: timeout },
      });
    }
    const chroot = normalizeChroot(options.chroot);
    const client: EmbeddedClient = new EmbeddedClient(this.core, chroot, timeout, async () => {
      this.clients.delete(client);
      // Not while the server closes: it is closing this client (and would wait for itself).
      if (!this.closed) await afterClose?.();
    });
    this.clients.add(client);
    try {
      client.start();
    } catch (err) {
      await client.close().catch(() => {});
      throw err;
    }
    return client;
  }

  async expireSession(sessionId: string): Promise<void> {
    const holder = this.core.holder(sessionId);
    const client = [...this.clients].find((c) => c === holder);
    if (!client) {
      throw distciError('DISTCI_BAD_OPTION', `no live session '${sessionId}' on this embedded server`, {
        hint: "pass a connected store's sessionId",
        details: { option: 'sessionId', value: sessionId },
      });
    }
    await client.expire();
  }

  snapshot(): Promise<void> {
    return this.core.snapshot();
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = (async () => {
        const errors: unknown[] = [];
        for (const client of [...this.clients]) await client.close().catch((e: unknown) => errors.push(e));
        await this.core.close();
        if (errors.length > 0) throw errors[0];
      })();
    }
    return this.closing;
  }

  private closedError(): Error {
    return distciError('DISTCI_STORE_CLOSED', 'the embedded coordination server is closed', {
      hint: 'open a new server (createEmbeddedServer) to go on',
    });
  }
}

/** Starts an embedded coordination server; with `dataDir`, recovers it (synchronously) and locks it. */
export function createEmbeddedServer(options: EmbeddedServerOptions = {}): EmbeddedServer {
  return new EmbeddedServerImpl(options);
}
