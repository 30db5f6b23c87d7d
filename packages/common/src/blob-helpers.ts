/**
 * Small helpers around `BlobStore`: for callers (`readBlob`, `listAll`) and for the adapters, which must
 * agree on defaults and on what they refuse (`compileBlobPrefix`, `checkPutOptions`, `checkListOptions`).
 */
import type { BlobInfo, BlobStore, ListOptions, PutOptions } from './blob-store.js';
import { type DistciError, distciError, isDistciError } from './errors.js';
import { relativePath } from './keys.js';

/** What both adapters store when a put names no content type (S3's own default is binary/octet-stream). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** S3's page size limit for ListObjectsV2, and the default. */
export const MAX_LIST_LIMIT = 1000;

/** The whole object in memory. For small objects (configs, build records); stream the big ones. */
export async function readBlob(store: BlobStore, key: string): Promise<Buffer> {
  const { body } = await store.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(toBuffer(chunk));
  return Buffer.concat(chunks);
}

/** Every object under `prefix`, page after page, in key order. */
export async function* listAll(store: BlobStore, options: { prefix?: string } = {}): AsyncGenerator<BlobInfo> {
  let cursor: string | undefined;
  do {
    const page = await store.list({ ...options, ...(cursor ? { cursor } : {}) });
    yield* page.blobs;
    cursor = page.cursor ?? undefined;
  } while (cursor);
}

/**
 * A store's key prefix in its one form: '' or relative segments ending with '/' ('ci' and 'ci/' both
 * become 'ci/'), so that a prefix is always a directory of keys and never glues onto a key's first segment.
 */
export function compileBlobPrefix(prefix: string): string {
  if (prefix === '') return '';
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return `${relativePath(bare, 'blob store prefix')}/`;
}

/** Refuses put options that neither S3 nor the directory store could honour the same way. */
export function checkPutOptions(key: string, options: PutOptions): void {
  if (options.ifNoneMatch !== undefined && options.ifNoneMatch !== '*') {
    throw distciError('DISTCI_BAD_OPTION', `ifNoneMatch '${options.ifNoneMatch}' for '${key}' is not supported`, {
      hint: "use ifNoneMatch: '*' (create only) or ifMatch: <etag> (compare-and-set)",
    });
  }
  if (options.ifNoneMatch !== undefined && options.ifMatch !== undefined) {
    throw distciError('DISTCI_BAD_OPTION', `put of '${key}' has both ifNoneMatch and ifMatch`, {
      hint: 'use one: ifNoneMatch creates, ifMatch replaces a known version',
    });
  }
  if (options.ifMatch !== undefined && !/^[\x21-\x7e]{1,200}$/.test(options.ifMatch)) {
    throw distciError('DISTCI_BAD_OPTION', `ifMatch '${options.ifMatch}' for '${key}' is not an ETag`, {
      hint: 'pass the etag a put, head or get returned',
    });
  }
  // An HTTP header value, bounded so that it fits the directory store's metadata trailer.
  if (options.contentType !== undefined && !/^[\x20-\x7e]{1,255}$/.test(options.contentType)) {
    throw distciError('DISTCI_BAD_OPTION', `content type '${options.contentType}' for '${key}' is not allowed`, {
      hint: 'use 1-255 printable ASCII characters, like "application/json"',
    });
  }
}

/** The page size of a list call, checked: an integer 1..1000, default 1000. */
export function checkListOptions(options: ListOptions): number {
  const limit = options.limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw distciError('DISTCI_BAD_OPTION', `list limit ${limit} is not allowed`, {
      hint: `use an integer 1..${MAX_LIST_LIMIT}`,
    });
  }
  if (options.delimiter === '') {
    throw distciError('DISTCI_BAD_OPTION', 'list delimiter is empty', { hint: 'omit it, or use "/"' });
  }
  return limit;
}

/** ETags travel without quotes; S3 sends them quoted. */
export function unquoteEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

/** A body chunk as a Buffer (streams may yield strings or other Uint8Arrays). */
export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError(`a blob body stream yielded a ${typeof chunk}, not bytes`);
}

/** The caller's body stream failed: nothing was written; say so with its message. */
export function bodyFailed(key: string, err: unknown): DistciError {
  if (isDistciError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return distciError('DISTCI_BLOB_STORE_ERROR', `the body of '${key}' failed: ${message}; nothing was written`, {
    hint: 'the stream passed to put threw; fix its source and put again',
    cause: err,
  });
}

/** The conflict of a conditional put, in the same words from every adapter. */
export function putConflict(key: string, put: PutOptions): DistciError {
  return put.ifNoneMatch
    ? distciError('DISTCI_BLOB_CONFLICT', `object '${key}' already exists`, {
        hint: 'it was created by someone else; read it instead, or put without ifNoneMatch to overwrite',
      })
    : distciError('DISTCI_BLOB_CONFLICT', `object '${key}' is not at etag '${put.ifMatch}' any more`, {
        hint: 'it changed or was deleted since you read it; read it again and retry',
      });
}
