/**
 * BlobStore on S3: Ceph RGW in production, any S3-compatible server. The adapter owns its S3Client and
 * destroys it (and its sockets) on close.
 *
 * Puts, by body:
 * - Uint8Array / string, and streams that end within one part (8 MiB): one PutObject. Conditions travel
 *   as `If-None-Match: *` / `If-Match: <etag>`; S3 enforces them atomically and answers 412.
 * - Longer streams, unconditional: a multipart upload (`s3-multipart.ts`), aborted on any failure.
 * - Longer streams WITH a condition: spooled to a temp file, then one PutObject (at most 5 GiB, S3's
 *   limit for a single PUT). Multipart cannot carry the condition: RGW Pacific ignores If-None-Match and
 *   If-Match on CompleteMultipartUpload (measured: both overwrite the object), so the only atomic check
 *   is on a single PUT. Conditional puts are for small records (job configs), so the copy is rare.
 * A put whose body stream fails writes nothing and throws DISTCI_BLOB_STORE_ERROR.
 *
 * Found on RGW Pacific 16.2.15 (and the reason for the code that handles them):
 * - `If-Match` must carry the bare ETag: the quoted form HTTP prescribes always fails with 412.
 * - SDK v3 ≥ 3.729 sends streamed bodies with aws-chunked checksums, which RGW answers with 411:
 *   checksums are computed and validated only WHEN_REQUIRED.
 * - A conditional PUT whose first attempt succeeded but whose answer was lost is retried by the SDK and
 *   then fails with 412 against our own write: when that happens we compare the stored ETag with the
 *   body's md5 and report success if they are equal.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  bodyFailed,
  checkListOptions,
  checkPutOptions,
  compileBlobPrefix,
  DEFAULT_CONTENT_TYPE,
  unquoteEtag,
} from './blob-helpers.js';
import type { BlobBody, BlobInfo, BlobStore, ListOptions, ListPage, PutOptions } from './blob-store.js';
import { type DistciError, distciError, isDistciError } from './errors.js';
import { relativePath } from './keys.js';
import type { BlobOptions } from './options.js';
import { chunks, PART_SIZE, uploadMultipart } from './s3-multipart.js';

export type S3BlobOptions = Omit<Extract<BlobOptions, { type: 's3' }>, 'type'> & { readonly type?: 's3' };

/** 5 GiB: the largest object S3 (and RGW's default rgw_max_put_size) accepts in one PUT. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

/** What the SDK puts on its errors, all optional: network errors have no `$metadata`. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}
const sdk = (err: unknown): SdkError => (typeof err === 'object' && err !== null ? (err as SdkError) : {});
const statusOf = (err: unknown): number | undefined => sdk(err).$metadata?.httpStatusCode;

export function createS3BlobStore(options: S3BlobOptions): BlobStore {
  const prefix = compileBlobPrefix(options.prefix);
  const bucket = options.bucket;
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
  });
  let closed = false;

  const where = `bucket '${bucket}' at ${options.endpoint}`;
  const fullKey = (key: string): string => {
    if (closed) throw distciError('DISTCI_STORE_CLOSED', `the S3 blob store (${where}) is closed`);
    return prefix + relativePath(key, 'object key');
  };

  /** Any failure that is not a distci error yet becomes DISTCI_BLOB_STORE_ERROR with what to check. */
  const failure = (op: string, key: string, err: unknown): DistciError => {
    if (isDistciError(err)) return err;
    const e = sdk(err);
    const status = statusOf(err);
    const what = status !== undefined ? `${e.name ?? 'error'} (HTTP ${status})` : (e.code ?? e.name ?? 'error');
    let hint = `check that ${where} is reachable and healthy`;
    if (e.name === 'NoSuchBucket') hint = `create the bucket '${bucket}' first`;
    else if (status === 403 || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch')
      hint = `check the S3 credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) for ${where}`;
    else if (status === undefined && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EPIPE/.test(`${e.code} ${e.message}`))
      hint = `is the S3 endpoint ${options.endpoint} up? (DISTCI_S3_ENDPOINT)`;
    return distciError('DISTCI_BLOB_STORE_ERROR', `S3 ${op} of '${key}' failed: ${what}`, { hint, cause: err });
  };
  const conflict = (key: string, put: PutOptions): DistciError =>
    put.ifNoneMatch
      ? distciError('DISTCI_BLOB_CONFLICT', `object '${key}' already exists`, {
          hint: 'it was created by someone else; read it instead, or put without ifNoneMatch to overwrite',
        })
      : distciError('DISTCI_BLOB_CONFLICT', `object '${key}' is not at etag '${put.ifMatch}' any more`, {
          hint: 'it changed or was deleted since you read it; read it again and retry',
        });

  const head = async (key: string): Promise<BlobInfo | null> => {
    const Key = fullKey(key);
    try {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
      return {
        key,
        size: r.ContentLength ?? 0,
        etag: unquoteEtag(r.ETag ?? ''),
        lastModified: r.LastModified ?? new Date(0),
        contentType: r.ContentType ?? DEFAULT_CONTENT_TYPE,
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw failure('HeadObject', key, err);
    }
  };

  /** One PutObject; `md5` (lazy: only needed after a retried conditional put) is the body's hex md5. */
  const putSingle = async (
    key: string,
    body: Buffer | Readable,
    size: number,
    put: PutOptions,
    md5: () => string,
  ): Promise<string> => {
    try {
      const r = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: fullKey(key),
          Body: body,
          ContentLength: size,
          ContentType: put.contentType ?? DEFAULT_CONTENT_TYPE,
          ...(put.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
          ...(put.ifMatch !== undefined ? { IfMatch: unquoteEtag(put.ifMatch) } : {}),
        }),
      );
      return r.ETag ? unquoteEtag(r.ETag) : md5();
    } catch (err) {
      const status = statusOf(err);
      // AWS answers If-Match on a missing key with 404, RGW with 412: both mean "not that version".
      if (status === 412 || (status === 404 && put.ifMatch !== undefined)) {
        if ((sdk(err).$metadata?.attempts ?? 1) > 1 && (await head(key))?.etag === md5()) return md5();
        throw conflict(key, put);
      }
      throw failure('PutObject', key, err);
    }
  };

  const putStream = async (key: string, body: Readable, put: PutOptions): Promise<string> => {
    const parts = chunks(body, PART_SIZE);
    try {
      let first: IteratorResult<Buffer>;
      try {
        first = await parts.next();
      } catch (err) {
        throw bodyFailed(key, err);
      }
      if (first.done || first.value.length < PART_SIZE) {
        const buf = first.done ? Buffer.alloc(0) : first.value;
        return await putSingle(key, buf, buf.length, put, () => md5Hex(buf));
      }
      if (put.ifNoneMatch || put.ifMatch !== undefined) return await putSpooled(key, first.value, parts, put);
      const rest = guardBody(key, parts);
      try {
        return await uploadMultipart(
          { client, bucket, key: fullKey(key), contentType: put.contentType ?? DEFAULT_CONTENT_TYPE },
          first.value,
          rest,
        );
      } catch (err) {
        throw failure('multipart upload', key, err);
      }
    } finally {
      // Ends the generator, which destroys the caller's stream when we stopped reading early.
      await parts.return(undefined).catch(() => {});
    }
  };

  /** A long conditional stream: copied to a temp file (hashing it), then sent as one conditional PUT. */
  const putSpooled = async (
    key: string,
    first: Buffer,
    rest: AsyncGenerator<Buffer>,
    put: PutOptions,
  ): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'distci-s3-spool-'));
    try {
      const file = join(dir, 'body');
      const hash = createHash('md5');
      let size = 0;
      const counted = async function* (): AsyncGenerator<Buffer> {
        yield counting(first);
        for await (const part of guardBody(key, rest)) yield counting(part);
      };
      const counting = (part: Buffer): Buffer => {
        size += part.length;
        hash.update(part);
        if (size > MAX_SINGLE_PUT) {
          throw distciError('DISTCI_BLOB_STORE_ERROR', `conditional put of '${key}' is larger than 5 GiB`, {
            hint: 'a conditional put is one PUT, which S3 limits to 5 GiB; put large objects without a condition',
          });
        }
        return part;
      };
      await pipeline(Readable.from(counted()), createWriteStream(file));
      const md5 = digestOnce(hash);
      const spooled = createReadStream(file);
      try {
        return await putSingle(key, spooled, size, put, md5);
      } finally {
        spooled.destroy();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  return {
    kind: 's3',

    async put(key, body: BlobBody, put: PutOptions = {}) {
      fullKey(key);
      checkPutOptions(key, put);
      if (typeof body === 'string' || body instanceof Uint8Array) {
        const buf =
          typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
        return { etag: await putSingle(key, buf, buf.length, put, () => md5Hex(buf)) };
      }
      return { etag: await putStream(key, body, put) };
    },

    async get(key) {
      const Key = fullKey(key);
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
        if (!(r.Body instanceof Readable)) throw new Error('GetObject returned no stream body');
        const info: BlobInfo = {
          key,
          size: r.ContentLength ?? 0,
          etag: unquoteEtag(r.ETag ?? ''),
          lastModified: r.LastModified ?? new Date(0),
          contentType: r.ContentType ?? DEFAULT_CONTENT_TYPE,
        };
        return { body: r.Body, info };
      } catch (err) {
        if (statusOf(err) === 404) {
          throw distciError('DISTCI_BLOB_NOT_FOUND', `no object at '${key}'`, {
            hint: `nothing was stored at that key in ${where}`,
          });
        }
        throw failure('GetObject', key, err);
      }
    },

    head,

    async list(list: ListOptions = {}): Promise<ListPage> {
      const limit = checkListOptions(list);
      if (closed) throw distciError('DISTCI_STORE_CLOSED', `the S3 blob store (${where}) is closed`);
      try {
        const r = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix + (list.prefix ?? ''),
            MaxKeys: limit,
            ...(list.delimiter ? { Delimiter: list.delimiter } : {}),
            ...(list.cursor ? { ContinuationToken: list.cursor } : {}),
          }),
        );
        const strip = (k: string): string => k.slice(prefix.length);
        return {
          blobs: (r.Contents ?? []).map((o) => ({
            key: strip(o.Key ?? ''),
            size: o.Size ?? 0,
            etag: unquoteEtag(o.ETag ?? ''),
            lastModified: o.LastModified ?? new Date(0),
          })),
          prefixes: (r.CommonPrefixes ?? []).map((p) => strip(p.Prefix ?? '')),
          cursor: r.IsTruncated && r.NextContinuationToken ? r.NextContinuationToken : null,
        };
      } catch (err) {
        throw failure('ListObjectsV2', `${list.prefix ?? ''}*`, err);
      }
    },

    async delete(key) {
      const Key = fullKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      } catch (err) {
        if (statusOf(err) === 404 && sdk(err).name !== 'NoSuchBucket') return;
        throw failure('DeleteObject', key, err);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}

function md5Hex(buf: Buffer): string {
  return createHash('md5').update(buf).digest('hex');
}

/** A hash's digest, computed once (digest() may be called only once). */
function digestOnce(hash: Hash): () => string {
  let hex: string | undefined;
  return () => {
    hex ??= hash.digest('hex');
    return hex;
  };
}

/** The rest of the body's parts, with stream failures turned into `bodyFailed` errors. */
async function* guardBody(key: string, parts: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await parts.next();
    } catch (err) {
      throw bodyFailed(key, err);
    }
    if (next.done) return;
    yield next.value;
  }
}
