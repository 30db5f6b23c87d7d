/**
 * Client ops of the embedded store, checked as ZooKeeper's client and server check them and mapped to
 * tree ops (server paths, data copied into a Buffer): a bad path is DISTCI_BAD_PATH, a bad mode or
 * version DISTCI_BAD_OPTION, each with `details.opIndex` inside a multi; a request over ZooKeeper's size
 * limit is DISTCI_CONNECTION_LOSS, as ZooKeeper's client reports it. Nothing is applied on any of these.
 */
import type { CreateMode, Op } from '@distci/common';
import { distciError } from '@distci/common';
import { toServerPath, validateNodePath } from './embedded-paths.js';
import type { TreeOp } from './embedded-tree.js';

/**
 * ZooKeeper's `jute.maxbuffer` (0xfffff bytes): a bigger request makes the server drop the connection,
 * which its client reports as ConnectionLoss (measured on 3.8.0: a set of 1,048,500 bytes passes, one
 * of 1,048,575 is refused). The estimate counts paths and data plus 24 bytes of framing per op.
 */
export const MAX_REQUEST_BYTES = 1_048_575;

const CREATE_MODES: readonly CreateMode[] = [
  'persistent',
  'ephemeral',
  'persistent-sequential',
  'ephemeral-sequential',
];

type At = { opIndex: number } | undefined;

export function toTreeOp(op: Op, chroot: string, opIndex: number | undefined): TreeOp {
  const at: At = opIndex === undefined ? undefined : { opIndex };
  const path = validateNodePath(op.path, at);
  const server = toServerPath(chroot, path);
  const badPath = (reason: string) =>
    distciError('DISTCI_BAD_PATH', `cannot ${op.type} '${path}': ${reason}`, {
      hint: 'name a node below the root',
      details: { path, ...at },
    });
  switch (op.type) {
    case 'create': {
      const mode = op.mode ?? 'persistent';
      if (!CREATE_MODES.includes(mode)) throw badOption('mode', String(mode), `one of ${CREATE_MODES.join(', ')}`, at);
      // ZooKeeper would append the counter to the chroot's own name, making a sibling of the chroot.
      if (path === '/' && mode.endsWith('sequential')) throw badPath('a sequential node needs a name prefix');
      return { type: 'create', path: server, data: toBuffer(op.data), mode };
    }
    case 'set':
      return { type: 'set', path: server, data: toBuffer(op.data), version: checkVersion(op.version, at) };
    case 'delete':
      // ZooKeeper's client sends `/` unchrooted and the server refuses it (BadArguments).
      if (path === '/') throw badPath('the root is never deleted');
      return { type: 'delete', path: server, version: checkVersion(op.version, at) };
    case 'check':
      return { type: 'check', path: server, version: checkVersion(op.version, at) };
    default:
      throw badOption('op type', String((op as { type: unknown }).type), 'check, create, set or delete', at);
  }
}

export function assertRequestSize(ops: readonly TreeOp[]): void {
  let bytes = 0;
  for (const op of ops) {
    bytes += 24 + Buffer.byteLength(op.path) + (op.type === 'create' || op.type === 'set' ? op.data.length : 0);
  }
  if (bytes > MAX_REQUEST_BYTES) {
    throw distciError(
      'DISTCI_CONNECTION_LOSS',
      `the request is ${bytes} bytes, over ZooKeeper's limit of ${MAX_REQUEST_BYTES}`,
      {
        hint: 'keep znodes small and put payloads in the object store (DESIGN invariant 6); nothing was applied',
        details: { bytes, limit: MAX_REQUEST_BYTES },
      },
    );
  }
}

function toBuffer(data: Uint8Array | undefined): Buffer {
  // A copy: the caller may reuse its array, and the tree keeps what it is given.
  return data === undefined ? Buffer.alloc(0) : Buffer.from(data);
}

function checkVersion(version: number | undefined, at: At): number | undefined {
  if (version === undefined || Number.isInteger(version)) return version;
  throw badOption('version', String(version), 'an integer data version (-1 or omitted for any version)', at);
}

function badOption(name: string, value: string, expected: string, at: At): Error {
  return distciError('DISTCI_BAD_OPTION', `${name} '${value}' is not valid`, {
    hint: `use ${expected}`,
    details: { option: name, value, ...at },
  });
}
