/**
 * How big a coordination-store transaction is, and how big distci lets one get.
 *
 * ZooKeeper refuses a request packet over `jute.maxbuffer` (1 MiB by default) by closing the
 * connection: the client sees a connection loss, not an error that says "too large", and a caller
 * that retries on connection loss retries forever (issue 13, hole 1). So every transaction distci
 * builds is sized before it is sent, and the control worker splits its work into turns that stay
 * well under the limit.
 */
import type { Op } from './coordination-store.js';
import { distciError } from './errors.js';

/** 1 MiB: ZooKeeper's default `jute.maxbuffer`, the largest packet a server accepts. */
export const STORE_PACKET_LIMIT = 1024 * 1024;
/**
 * 512 KiB: the most a distci transaction may carry — half the packet limit, leaving room for the
 * request's framing and for a server run with a smaller `jute.maxbuffer` margin.
 */
export const MAX_TXN_BYTES = 512 * 1024;
/** 256 KiB: what one control turn plans to write, so the fence and successors fit beside it. */
export const TURN_BUDGET_BYTES = 256 * 1024;

/**
 * An upper estimate of one op's bytes on the wire: jute frames each op with a header (type, done
 * flag, error: 12 B), the path as a length-prefixed string, the data, version and ACL/flags
 * (a create's ACL is ~30 B): 64 B covers the fixed part.
 */
export function opBytes(op: Op): number {
  const data = op.type === 'create' || op.type === 'set' ? (op.data?.byteLength ?? 0) : 0;
  return 64 + Buffer.byteLength(op.path) + data;
}

export function txnBytes(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) n += opBytes(op);
  return n;
}

/** Throws DISTCI_TXN_TOO_LARGE when `ops` are over `MAX_TXN_BYTES` (sending them would hang the caller). */
export function assertTxnFits(ops: readonly Op[]): void {
  const bytes = txnBytes(ops);
  if (bytes > MAX_TXN_BYTES) {
    throw distciError(
      'DISTCI_TXN_TOO_LARGE',
      `a transaction of ${ops.length} ops and ~${bytes} bytes is over distci's ${MAX_TXN_BYTES}-byte limit (ZooKeeper's packet limit is ${STORE_PACKET_LIMIT})`,
      { hint: 'split it across turns', details: { ops: ops.length, bytes, limit: MAX_TXN_BYTES } },
    );
  }
}
