/**
 * The embedded store's transaction log: `log-<first zxid>.jsonl`, one JSON line per committed
 * transaction (a single op or a whole multi), appended before the op resolves:
 * `{"z":<zxid>,"t":<ms>,"c":[["c",path,data,owner],["s",path,data],["d",path]]}` (data in base64).
 * The line records what changed (final sequential names included), not the request, so replay is exact.
 *
 * Durability: each line goes to the kernel with one write() before the op resolves, so it survives a
 * crash or SIGKILL of the process (the page cache belongs to the kernel) but not a power loss or a
 * kernel crash. With `fsync`, every line is also fdatasync'ed before the op resolves: it then survives
 * a power loss too, at the cost of a disk flush per write. Measured with bench/embedded-store.bench.ts
 * (one client, each op awaited, a VM's virtio disk): create 104k ops/s in memory, 90k/s logged, 4.6k/s
 * with fsync; the write() costs ~1 µs per op, the fdatasync ~200 µs.
 *
 * Torn tail: a crash in the middle of a write can leave a partial last line. Only lines ended by "\n"
 * count; in the newest log file, the first line that does not parse and everything after it are cut
 * off (`tornBytes`). Anywhere else a bad line means the data dir is damaged and recovery refuses.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { distciError } from '@distci/common';
import type { TreeChange } from './embedded-tree.js';

export interface LoggedTxn {
  zxid: number;
  time: number;
  changes: TreeChange[];
}

type EncodedChange = ['c', string, string, string | null] | ['s', string, string] | ['d', string];

export const logFileName = (firstZxid: number): string => `log-${String(firstZxid).padStart(16, '0')}.jsonl`;
export const LOG_FILE = /^log-(\d{16})\.jsonl$/;

export function encodeTxn(txn: LoggedTxn): string {
  const c = txn.changes.map((ch): EncodedChange => {
    if (ch.op === 'create') return ['c', ch.path, ch.data.toString('base64'), ch.owner];
    if (ch.op === 'set') return ['s', ch.path, ch.data.toString('base64')];
    return ['d', ch.path];
  });
  return `${JSON.stringify({ z: txn.zxid, t: txn.time, c })}\n`;
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** Parses one log line; null when it is not a well-formed transaction. */
export function decodeTxn(line: string): LoggedTxn | null {
  let raw: { z?: unknown; t?: unknown; c?: unknown };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { z, t, c } = raw;
  if (!Number.isSafeInteger(z) || typeof t !== 'number' || !Array.isArray(c)) return null;
  const changes: TreeChange[] = [];
  for (const e of c as unknown[]) {
    if (!Array.isArray(e) || !isString(e[1])) return null;
    if (e[0] === 'c' && e.length === 4 && isString(e[2]) && (e[3] === null || isString(e[3]))) {
      changes.push({ op: 'create', path: e[1], data: Buffer.from(e[2], 'base64'), owner: e[3] });
    } else if (e[0] === 's' && e.length === 3 && isString(e[2])) {
      changes.push({ op: 'set', path: e[1], data: Buffer.from(e[2], 'base64') });
    } else if (e[0] === 'd' && e.length === 2) {
      changes.push({ op: 'delete', path: e[1] });
    } else {
      return null;
    }
  }
  return { zxid: z as number, time: t, changes };
}

export interface ReadLog {
  txns: LoggedTxn[];
  /** Bytes cut off the end (a torn last write); 0 when the file ended cleanly. */
  tornBytes: number;
}

/**
 * Reads one log file. `newest`: this is the last file, whose torn tail is cut off (the file is truncated
 * so the next append starts on a clean line); otherwise a bad line throws.
 */
export function readTxnLog(file: string, newest: boolean): ReadLog {
  const bytes = readFileSync(file);
  const txns: LoggedTxn[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(0x0a, offset);
    const txn = end === -1 ? null : decodeTxn(bytes.toString('utf8', offset, end));
    if (!txn) {
      if (!newest) {
        throw distciError(
          'DISTCI_COORDINATION_ERROR',
          `the embedded store's log ${file} is damaged at byte ${offset}`,
          {
            hint: 'restore the data dir from a backup or start with an empty one',
          },
        );
      }
      truncateSync(file, offset);
      return { txns, tornBytes: bytes.length - offset };
    }
    txns.push(txn);
    offset = end + 1;
  }
  return { txns, tornBytes: 0 };
}

/** Appends lines to one log file; see the header for what each append guarantees. */
export class TxnLogWriter {
  private fd: number | null;
  /** Bytes in this file (existing content included). */
  bytes: number;

  constructor(
    readonly file: string,
    private readonly fsync: boolean,
    existingBytes = 0,
  ) {
    this.fd = openSync(file, 'a', 0o600);
    this.bytes = existingBytes;
  }

  /** Appends one line; returns its size in bytes. */
  append(line: string): number {
    if (this.fd === null) throw distciError('DISTCI_STORE_CLOSED', `the log ${this.file} is closed`);
    const buf = Buffer.from(line, 'utf8');
    let done = 0;
    try {
      // A write to a regular file is whole in practice; loop anyway, as POSIX allows a short write.
      while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done);
      if (this.fsync) fdatasyncSync(this.fd);
    } catch (err) {
      // Cut a partial line (disk full) so the next append starts clean; the caller undoes the txn.
      if (done > 0) ftruncateSync(this.fd, this.bytes);
      throw err;
    }
    this.bytes += buf.length;
    return buf.length;
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
