/**
 * BlobStore: what distci needs from an S3-compatible object store.
 *
 * Semantics (both adapters — S3 and directory — pass one conformance suite proving them):
 * - Keys are `/`-separated, relative, at most 1024 bytes, with no empty, `.` or `..` segment and no
 *   backslash or NUL (`DISTCI_BAD_PATH`). Keys are built by `keys.ts`, never by hand.
 * - ETags are opaque strings without quotes; a put returns the new object's ETag.
 * - Conditional put: `ifNoneMatch: '*'` succeeds only when no object exists at the key; `ifMatch`
 *   only when the current ETag equals the given one. Otherwise `DISTCI_BLOB_CONFLICT` (412) and
 *   nothing is written. Under any number of concurrent conditional puts exactly one wins.
 * - A reader never sees a partly written object (puts are atomic).
 * - Large bodies (streams) go up as multipart uploads on S3.
 * - `list` returns keys in ascending byte order, `limit` (≤ 1000) at a time, with a `cursor` to
 *   continue; with a `delimiter`, keys below the next delimiter are rolled up into `prefixes`.
 * - `delete` of a missing key succeeds.
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  /** Present on `head`/`get`; listings may omit it. */
  contentType?: string;
}

export type BlobBody = Uint8Array | string | Readable;

export interface PutOptions {
  contentType?: string;
  /** Only `'*'`: create, never overwrite. */
  ifNoneMatch?: '*';
  /** Overwrite only when the current ETag is this one (compare-and-set). */
  ifMatch?: string;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Page size, 1..1000 (default 1000). */
  limit?: number;
}

export interface ListPage {
  blobs: BlobInfo[];
  prefixes: string[];
  /** Pass to the next `list` call; null when this is the last page. */
  cursor: string | null;
}

export interface BlobStore {
  /** Which adapter this is: `s3` or `directory`. */
  readonly kind: string;
  /** Where the objects live, for messages: `bucket 'distci' at http://rgw:7480`, `directory /var/lib/x`. */
  readonly where: string;
  /**
   * Whether the container (the S3 bucket, the root directory) exists. Never creates it: a process that
   * finds it missing says so by name instead of answering every write with a store error.
   */
  containerExists(): Promise<boolean>;
  /** Creates the container when it is missing (idempotent); true when this call created it. */
  createContainer(): Promise<boolean>;
  put(key: string, body: BlobBody, options?: PutOptions): Promise<{ etag: string }>;
  /** Throws `DISTCI_BLOB_NOT_FOUND`. */
  get(key: string): Promise<{ body: Readable; info: BlobInfo }>;
  head(key: string): Promise<BlobInfo | null>;
  list(options?: ListOptions): Promise<ListPage>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
