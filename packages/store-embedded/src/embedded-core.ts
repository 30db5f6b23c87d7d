/**
 * The server side of the embedded coordination store: the one tree every client shares, the live
 * sessions, and the write path (apply → log → notify), like ZooKeeper's request pipeline in one thread.
 *
 * Write path of one transaction (a single op or a multi):
 * 1. `tree.apply` checks and applies every op, all-or-nothing (embedded-tree.ts);
 * 2. the changes are logged (embedded-persistence.ts) before the op resolves; when logging fails the
 *    transaction is undone and the op fails: memory never holds what the disk may not;
 * 3. each client with a live session is told the triggers, synchronously, and queues its watch events;
 *    the op's result reaches the caller after that (see embedded-client.ts for the ordering).
 */

import { coerceError, distciError } from '@distci/common';
import { Persistence, type PersistenceOptions, type Recovery } from './embedded-persistence.js';
import { EmbeddedTree, type TreeOp, type TreeResult } from './embedded-tree.js';
import { type Trigger, triggersOf } from './embedded-watches.js';

/** What the core needs from a client holding a session. */
export interface SessionHolder {
  /** Called synchronously after every committed transaction, in commit order. */
  onCommit(triggers: readonly Trigger[]): void;
}

export type RecoveryInfo = Omit<Recovery, 'tree'>;

export interface CoreOptions extends Partial<PersistenceOptions> {}

const identity = (path: string) => path;

export class EmbeddedCore {
  readonly tree: EmbeddedTree;
  readonly recovery: RecoveryInfo | null;
  private readonly persistence: Persistence | null;
  private readonly sessions = new Map<string, SessionHolder>();
  private nextSession: bigint;
  closed = false;

  constructor(options: CoreOptions) {
    if (options.dataDir !== undefined) {
      const { persistence, recovery } = Persistence.open({ ...options, dataDir: options.dataDir });
      const { tree, ...info } = recovery;
      this.tree = tree;
      this.recovery = info;
      this.persistence = persistence;
    } else {
      this.tree = new EmbeddedTree();
      this.recovery = null;
      this.persistence = null;
    }
    // ZooKeeper's session ids: the server id in the top byte (1 here), then the time in ms shifted left
    // by 24 bits, so ids never repeat across restarts (unless 16M sessions open in one ms).
    this.nextSession = (1n << 56n) | ((BigInt(Date.now()) << 24n) & ((1n << 56n) - 1n));
    // Ephemeral nodes recovered from the log belonged to sessions that died with the last process.
    for (const owner of this.tree.owners()) this.endSession(owner);
  }

  openSession(holder: SessionHolder): string {
    this.assertOpen();
    const id = this.nextSession.toString(16).padStart(16, '0');
    this.nextSession++;
    this.sessions.set(id, holder);
    return id;
  }

  isLive(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  holder(sessionId: string): SessionHolder | undefined {
    return this.sessions.get(sessionId);
  }

  /** Ends a session: its ephemeral nodes are deleted in one transaction; its holder hears nothing more. */
  endSession(sessionId: string): void {
    this.sessions.delete(sessionId);
    const paths = this.tree.ephemeralsOf(sessionId);
    if (paths.length === 0) return;
    const ops: TreeOp[] = paths.map((path) => ({ type: 'delete', path, version: undefined }));
    this.write(ops, sessionId, false, identity);
  }

  /** Runs one transaction through the write path (see header); throws the first failing op's error. */
  write(ops: readonly TreeOp[], sessionId: string, multi: boolean, show: (path: string) => string): TreeResult[] {
    this.assertOpen();
    const now = Date.now();
    const applied = this.tree.apply(ops, { sessionId, now, multi, show });
    if (applied.changes.length === 0) return applied.results;
    if (this.persistence) {
      try {
        this.persistence.append(applied.changes, now);
      } catch (err) {
        applied.undo();
        const cause = coerceError(err);
        throw distciError('DISTCI_COORDINATION_ERROR', `the embedded store could not log a change: ${cause.message}`, {
          hint: 'check free space and permissions of the data dir; the change was not applied',
          cause,
        });
      }
    }
    const triggers = triggersOf(applied.changes);
    for (const holder of this.sessions.values()) holder.onCommit(triggers);
    this.persistence?.maybeSnapshot(this.tree);
    return applied.results;
  }

  /** Rolls the log and snapshots the tree now (tests and benchmarks; the log bounds do it otherwise). */
  async snapshot(): Promise<void> {
    await this.persistence?.snapshot(this.tree);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.persistence?.close();
  }

  private assertOpen(): void {
    if (this.closed) {
      throw distciError('DISTCI_STORE_CLOSED', 'the embedded coordination server is closed', {
        hint: 'open a new server (createEmbeddedServer) to go on',
      });
    }
  }
}
