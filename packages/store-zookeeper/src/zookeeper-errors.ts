/**
 * Maps node-zookeeper-client's exceptions (numeric ZooKeeper error codes) to distci errors, so nothing
 * outside the ZooKeeper adapter ever sees a ZooKeeper code.
 */

import { type DistciError, distciError, type ErrorCode } from '@distci/common';
import zookeeper from 'node-zookeeper-client';

/** What the failed call was, for the message and `details`. */
export interface ZkCallSite {
  op: string;
  /** The path as the caller gave it (relative to the chroot). */
  path: string;
  /** For a `multi`: which op failed. */
  opIndex?: number;
}

const { Exception } = zookeeper;

const BY_ZK_CODE = new Map<number, { code: ErrorCode; what: string; hint?: string }>([
  [Exception.NO_NODE, { code: 'DISTCI_NO_NODE', what: 'no node there' }],
  [Exception.NODE_EXISTS, { code: 'DISTCI_NODE_EXISTS', what: 'a node already exists there' }],
  [
    Exception.BAD_VERSION,
    { code: 'DISTCI_BAD_VERSION', what: 'the node changed since it was read', hint: 're-read it and retry' },
  ],
  [Exception.NOT_EMPTY, { code: 'DISTCI_NOT_EMPTY', what: 'the node has children', hint: 'delete its children first' }],
  [
    Exception.NO_CHILDREN_FOR_EPHEMERALS,
    {
      code: 'DISTCI_NO_CHILDREN_FOR_EPHEMERALS',
      what: 'the parent is ephemeral and cannot have children',
      hint: 'create the parent as persistent',
    },
  ],
  // The server answers BadArguments for paths it refuses (e.g. characters ZooKeeper does not allow).
  [Exception.BAD_ARGUMENTS, { code: 'DISTCI_BAD_PATH', what: 'the server refused the path' }],
  [
    Exception.CONNECTION_LOSS,
    {
      code: 'DISTCI_CONNECTION_LOSS',
      what: 'the connection to ZooKeeper was lost before an answer came',
      hint: 'the outcome is unknown: wait for the session to reconnect, re-read, then retry',
    },
  ],
  [
    Exception.SESSION_EXPIRED,
    {
      code: 'DISTCI_SESSION_EXPIRED',
      what: 'the ZooKeeper session expired',
      hint: 'its ephemeral nodes (claims) are gone: abandon work done under it; a new session is opened automatically',
    },
  ],
]);

/** The distci error for a failure of node-zookeeper-client (an `Exception`, or anything else it threw). */
export function mapZkError(err: unknown, site: ZkCallSite): DistciError {
  return fromZkCode(zkErrorCode(err), site, err);
}

function fromZkCode(zkCode: number | undefined, site: ZkCallSite, cause?: unknown): DistciError {
  const known = zkCode === undefined ? undefined : BY_ZK_CODE.get(zkCode);
  const details: Record<string, unknown> = { op: site.op, path: site.path };
  if (site.opIndex !== undefined) details.opIndex = site.opIndex;
  if (zkCode !== undefined) details.zkCode = zkCode;
  const at = `${site.op} '${site.path}'${site.opIndex === undefined ? '' : ` (op ${site.opIndex} of a multi)`}`;
  if (known) {
    return distciError(known.code, `${at}: ${known.what}`, { hint: known.hint, details, cause });
  }
  const name = cause === undefined ? `error ${zkCode}` : cause instanceof Error ? cause.message : String(cause);
  return distciError('DISTCI_COORDINATION_ERROR', `${at}: ZooKeeper failed: ${name}`, {
    hint: "check ZooKeeper's health and logs, then retry",
    details,
    cause,
  });
}

/** The numeric ZooKeeper error code of a node-zookeeper-client `Exception`, if `err` is one. */
export function zkErrorCode(err: unknown): number | undefined {
  if (err instanceof Exception) return err.getCode();
  return undefined;
}

/** The distci error for ops refused because the session expired while they waited or were in flight. */
export function sessionExpiredError(site: ZkCallSite): DistciError {
  return fromZkCode(Exception.SESSION_EXPIRED, site);
}

/** The distci error for ops that found no connected session within `waitedMs`. */
export function connectionLossError(site: ZkCallSite, waitedMs: number): DistciError {
  return distciError('DISTCI_CONNECTION_LOSS', `${site.op} '${site.path}': no connection to ZooKeeper`, {
    hint: `waited ${waitedMs} ms for the session to (re)connect; check that ZooKeeper is reachable, then retry`,
    details: { op: site.op, path: site.path, waitedMs },
  });
}

export function storeClosedError(site: ZkCallSite): DistciError {
  return distciError('DISTCI_STORE_CLOSED', `${site.op} '${site.path}': the ZooKeeper store was closed`, {
    hint: 'open a new store; this happens during shutdown',
    details: { op: site.op, path: site.path },
  });
}

/** The distci error for requests in flight when the client could not make sense of the server's answer. */
export function protocolError(site: ZkCallSite, cause: unknown): DistciError {
  const what = cause instanceof Error ? cause.message : String(cause);
  return distciError(
    'DISTCI_CONNECTION_LOSS',
    `${site.op} '${site.path}': the ZooKeeper client failed on an answer (${what})`,
    {
      hint: 'the connection was dropped and the outcome is unknown: re-read, then retry',
      details: { op: site.op, path: site.path },
      cause,
    },
  );
}
