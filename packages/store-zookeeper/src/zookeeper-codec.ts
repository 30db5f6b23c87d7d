/**
 * Translations between the CoordinationStore's words and node-zookeeper-client's: paths under the chroot,
 * create modes, stats (64-bit fields arrive as 8-byte big-endian Buffers) and session ids.
 */

import type { CreateMode, NodeStat } from '@distci/common';
import { distciError } from '@distci/common';
import zookeeper, { type Stat } from 'node-zookeeper-client';

const { CreateMode: ZkCreateMode } = zookeeper;

const ZK_MODES: Record<CreateMode, number> = {
  persistent: ZkCreateMode.PERSISTENT,
  ephemeral: ZkCreateMode.EPHEMERAL,
  'persistent-sequential': ZkCreateMode.PERSISTENT_SEQUENTIAL,
  'ephemeral-sequential': ZkCreateMode.EPHEMERAL_SEQUENTIAL,
};

export function zkCreateMode(mode: CreateMode | undefined): number {
  const zkMode = ZK_MODES[mode ?? 'persistent'];
  if (zkMode === undefined) {
    throw distciError('DISTCI_BAD_OPTION', `unknown create mode '${String(mode)}'`, {
      hint: `use one of ${Object.keys(ZK_MODES).join(', ')}`,
    });
  }
  return zkMode;
}

/**
 * Characters ZooKeeper refuses in a path (its PathUtils.validatePath): NUL, controls, and the ranges
 * \u007F-\u009F, \uD800-\uF8FF, \uFFF0-\uFFFF.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to refuse
const REFUSED_CHARS = /[\u0000-\u001F\u007F-\u009F\uD800-\uF8FF\uFFF0-\uFFFF]/;

/** Checks a caller's path (`/`, `/a/b`); throws DISTCI_BAD_PATH with the reason. */
export function validatePath(path: unknown, op: string): asserts path is string {
  const why =
    typeof path !== 'string' || !path.startsWith('/')
      ? 'it must be a string starting with /'
      : path.length > 1 && path.endsWith('/')
        ? 'it must not end with /'
        : path.includes('//')
          ? 'it has an empty segment'
          : path.split('/').some((s) => s === '.' || s === '..')
            ? 'it has a . or .. segment'
            : REFUSED_CHARS.test(path)
              ? 'it has a control or reserved character'
              : undefined;
  if (why) {
    throw distciError('DISTCI_BAD_PATH', `${op}: '${String(path)}' is not a valid node path: ${why}`, {
      hint: 'use an absolute path like /jobs/web, relative to the store root',
      details: { op, path: String(path) },
    });
  }
}

/** Joins the chroot ('' for none) and a caller's path. */
export function toServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  return path === '/' ? chroot : chroot + path;
}

/** Strips the chroot from a path the server returned (a created node's name). */
export function fromServerPath(chroot: string, path: string): string {
  if (chroot === '') return path;
  if (path === chroot) return '/';
  return path.startsWith(`${chroot}/`) ? path.slice(chroot.length) : path;
}

/** 0 means "no session" on the wire (a persistent node's owner; the id before a session exists). */
export function sessionIdHex(id: Buffer): string | null {
  return id.every((b) => b === 0) ? null : id.toString('hex');
}

function longToNumber(value: Buffer): number {
  return Number(value.readBigInt64BE(0));
}

export function toNodeStat(stat: Stat): NodeStat {
  return {
    version: stat.version,
    cversion: stat.cversion,
    ctime: longToNumber(stat.ctime),
    mtime: longToNumber(stat.mtime),
    ephemeralOwner: sessionIdHex(stat.ephemeralOwner),
    numChildren: stat.numChildren,
    dataLength: stat.dataLength,
  };
}

/**
 * Copies caller data into the Buffer the client wants (an empty one for none: never null on the wire).
 * A copy, because a multi's ops are serialized only when sent, and the caller may reuse its array.
 */
export function toBuffer(data: Uint8Array | undefined): Buffer {
  return data === undefined ? Buffer.alloc(0) : Buffer.from(data);
}
