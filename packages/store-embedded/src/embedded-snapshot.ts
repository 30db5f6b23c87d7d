/**
 * Snapshots of the embedded store's tree: `snapshot-<zxid>.json` holds every node as of transaction
 * `zxid`, so recovery reads it and replays only the log lines after it.
 *
 * Crash safety: a snapshot is written to `<name>.tmp`, fdatasync'ed, renamed over its final name and the
 * directory fsync'ed, so a snapshot file either does not exist or is complete (rename is atomic on
 * POSIX). A crash mid-write leaves a `.tmp` that recovery deletes. Snapshots are always fsync'ed, even
 * without the `fsync` option: they are rare (one per `snapshotEvery*` bound) and the older log files are
 * deleted only once the snapshot that replaces them is durable.
 */
import { closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { distciError } from '@distci/common';
import type { SnapshotNode } from './embedded-tree.js';

/** Bumped when the file format changes; recovery refuses formats it does not know. */
const FORMAT = 1;

export const snapshotFileName = (zxid: number): string => `snapshot-${String(zxid).padStart(16, '0')}.json`;
export const SNAPSHOT_FILE = /^snapshot-(\d{16})\.json$/;

export interface Snapshot {
  zxid: number;
  nodes: SnapshotNode[];
}

/** Writes a snapshot durably (see header); resolves with its size in bytes. */
export async function writeSnapshot(dir: string, snapshot: Snapshot): Promise<number> {
  const file = join(dir, snapshotFileName(snapshot.zxid));
  const body = Buffer.from(JSON.stringify({ format: FORMAT, zxid: snapshot.zxid, nodes: snapshot.nodes }));
  const handle = await open(`${file}.tmp`, 'w', 0o600);
  try {
    await handle.writeFile(body);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(`${file}.tmp`, file);
  fsyncDir(dir);
  return body.length;
}

/** Makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readSnapshot(file: string): Snapshot {
  const damaged = (why: string) =>
    distciError('DISTCI_COORDINATION_ERROR', `the embedded store's snapshot ${file} is unusable: ${why}`, {
      hint: 'restore the data dir from a backup or start with an empty one',
    });
  let raw: { format?: unknown; zxid?: unknown; nodes?: unknown };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch (err) {
    throw damaged(err instanceof Error ? err.message : String(err));
  }
  if (raw.format !== FORMAT) throw damaged(`format ${String(raw.format)} is not ${FORMAT}`);
  if (!Number.isSafeInteger(raw.zxid) || !Array.isArray(raw.nodes)) throw damaged('zxid or nodes missing');
  return { zxid: raw.zxid as number, nodes: raw.nodes as SnapshotNode[] };
}
