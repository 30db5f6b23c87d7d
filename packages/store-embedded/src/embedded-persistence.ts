/**
 * Persistence of the embedded coordination store under `dataDir`:
 * ```
 * lock                          the data-dir lock (embedded-lock.ts)
 * snapshot-<zxid>.json          the tree as of transaction <zxid> (embedded-snapshot.ts)
 * log-<first zxid>.jsonl        committed transactions, one JSON line each (embedded-txn-log.ts)
 * ```
 * Recovery = newest snapshot + every logged transaction after it, a torn last line ignored. Ephemeral
 * nodes are logged like any other (their creates advance their parent's sequential counter), and the
 * server deletes the recovered ones at start, as ZooKeeper does when their sessions end: no session
 * outlives the process.
 *
 * Compaction: after `snapshotEveryTxns` transactions or `snapshotEveryBytes` of log, the log rolls to a
 * new file and the tree is snapshotted; once the snapshot is durable the older logs and snapshots are
 * deleted. The tree is serialized synchronously (a consistent view, no copy-on-write needed) and
 * written asynchronously, so writes go on meanwhile.
 */
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { distciError } from '@distci/common';
import { acquireDataDirLock, type DataDirLock } from './embedded-lock.js';
import { fsyncDir, readSnapshot, SNAPSHOT_FILE, writeSnapshot } from './embedded-snapshot.js';
import { EmbeddedTree, type TreeChange } from './embedded-tree.js';
import { encodeTxn, LOG_FILE, logFileName, readTxnLog, TxnLogWriter } from './embedded-txn-log.js';

/**
 * 100,000: ZooKeeper's default `snapCount`. Measured (bench/embedded-store.bench.ts): replaying 100k
 * logged creates takes ~0.4 s, loading a 100k-node snapshot ~0.3 s, and a snapshot of 100k nodes
 * blocks the event loop ~150 ms (serialization) before it is written in the background.
 */
export const DEFAULT_SNAPSHOT_EVERY_TXNS = 100_000;
/** 64 MiB: ZooKeeper's default log preallocation; bounds replay time when txns carry large data. */
export const DEFAULT_SNAPSHOT_EVERY_BYTES = 64 * 1024 * 1024;

export interface PersistenceOptions {
  dataDir: string;
  /** fdatasync every log line before its op resolves (default false; see embedded-txn-log.ts). */
  fsync?: boolean;
  snapshotEveryTxns?: number;
  snapshotEveryBytes?: number;
}

export interface Recovery {
  tree: EmbeddedTree;
  /** The last transaction recovered. */
  zxid: number;
  snapshotNodes: number;
  replayedTxns: number;
  tornBytes: number;
  ms: number;
}

interface DirFile {
  name: string;
  zxid: number;
}

function listDir(dir: string, pattern: RegExp): DirFile[] {
  const out: DirFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (m) out.push({ name, zxid: Number(m[1]) });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

export class Persistence {
  private writer: TxnLogWriter;
  private txnsSinceSnapshot: number;
  private bytesSinceSnapshot: number;
  private snapshotting: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly options: Required<PersistenceOptions>,
    private readonly lock: DataDirLock,
    private lastZxid: number,
    writer: TxnLogWriter,
    txnsSinceSnapshot: number,
    bytesSinceSnapshot: number,
  ) {
    this.writer = writer;
    this.txnsSinceSnapshot = txnsSinceSnapshot;
    this.bytesSinceSnapshot = bytesSinceSnapshot;
  }

  /** Locks the data dir and recovers its tree; throws DISTCI_BAD_OPTION when another process holds it. */
  static open(options: PersistenceOptions): { persistence: Persistence; recovery: Recovery } {
    const opts: Required<PersistenceOptions> = {
      fsync: false,
      snapshotEveryTxns: DEFAULT_SNAPSHOT_EVERY_TXNS,
      snapshotEveryBytes: DEFAULT_SNAPSHOT_EVERY_BYTES,
      ...options,
    };
    const t0 = performance.now();
    const dir = opts.dataDir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = acquireDataDirLock(dir);
    try {
      for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) unlinkSync(join(dir, name));
      const snapshots = listDir(dir, SNAPSHOT_FILE);
      const newest = snapshots.at(-1);
      const snapshot = newest ? readSnapshot(join(dir, newest.name)) : null;
      const tree = snapshot ? EmbeddedTree.fromNodes(snapshot.nodes) : new EmbeddedTree();
      let zxid = snapshot?.zxid ?? 0;
      const logs = listDir(dir, LOG_FILE);
      let replayedTxns = 0;
      let tornBytes = 0;
      let logBytes = 0;
      logs.forEach((log, i) => {
        const file = join(dir, log.name);
        const read = readTxnLog(file, i === logs.length - 1);
        tornBytes += read.tornBytes;
        for (const txn of read.txns) {
          if (txn.zxid <= zxid) continue;
          if (txn.zxid !== zxid + 1) {
            throw distciError(
              'DISTCI_COORDINATION_ERROR',
              `the embedded store's log skips from ${zxid} to ${txn.zxid}`,
              {
                hint: 'a log file is missing from the data dir; restore it from a backup or start with an empty one',
                details: { file },
              },
            );
          }
          for (const change of txn.changes) tree.replay(change, txn.time);
          zxid = txn.zxid;
          replayedTxns++;
        }
        logBytes += statSync(file).size;
      });
      const last = logs.at(-1);
      const writer = last
        ? new TxnLogWriter(join(dir, last.name), opts.fsync, statSync(join(dir, last.name)).size)
        : new TxnLogWriter(join(dir, logFileName(zxid + 1)), opts.fsync);
      const persistence = new Persistence(opts, lock, zxid, writer, replayedTxns, logBytes);
      const recovery: Recovery = {
        tree,
        zxid,
        snapshotNodes: snapshot?.nodes.length ?? 0,
        replayedTxns,
        tornBytes,
        ms: performance.now() - t0,
      };
      return { persistence, recovery };
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  get zxid(): number {
    return this.lastZxid;
  }

  /** Logs one committed transaction (see embedded-txn-log.ts for what that guarantees). */
  append(changes: TreeChange[], time: number): void {
    if (this.closed) throw distciError('DISTCI_STORE_CLOSED', 'the embedded store is closed');
    const zxid = this.lastZxid + 1;
    const line = encodeTxn({ zxid, time, changes });
    this.bytesSinceSnapshot += this.writer.append(line);
    this.lastZxid = zxid;
    this.txnsSinceSnapshot++;
  }

  /** Starts a snapshot when the log passed a bound and none is running. */
  maybeSnapshot(tree: EmbeddedTree): void {
    if (this.snapshotting || this.closed) return;
    const o = this.options;
    if (this.txnsSinceSnapshot < o.snapshotEveryTxns && this.bytesSinceSnapshot < o.snapshotEveryBytes) return;
    void this.snapshot(tree);
  }

  /** Rolls the log and writes a snapshot of `tree` as of now; resolves when it is durable. */
  snapshot(tree: EmbeddedTree): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const dir = this.options.dataDir;
    const zxid = this.lastZxid;
    const nodes = tree.exportNodes();
    // Roll unless the current file already starts after `zxid`: every file up to `zxid` gets deleted.
    const next = join(dir, logFileName(zxid + 1));
    if (this.writer.file !== next) {
      this.writer.close();
      this.writer = new TxnLogWriter(next, this.options.fsync);
    }
    this.txnsSinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    const run = async () => {
      try {
        await writeSnapshot(dir, { zxid, nodes });
        // Everything at or before `zxid` is in the snapshot now.
        for (const f of listDir(dir, LOG_FILE)) if (f.zxid <= zxid) unlinkSync(join(dir, f.name));
        for (const f of listDir(dir, SNAPSHOT_FILE)) if (f.zxid < zxid) unlinkSync(join(dir, f.name));
        fsyncDir(dir);
      } catch (err) {
        // Not fatal: the log still holds every transaction; the next bound retries.
        process.emitWarning(`embedded store: snapshot of ${dir} failed: ${(err as Error).message}`);
      } finally {
        this.snapshotting = null;
      }
    };
    this.snapshotting = run();
    return this.snapshotting;
  }

  /** Waits for a running snapshot, closes the log and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.snapshotting;
    this.writer.close();
    this.lock.release();
  }
}
