/**
 * BlobStore on S3: Ceph RGW in production, any S3-compatible server. The adapter owns its S3Client and
 * destroys it (and its sockets, so also any body still being read) on close. Puts: `s3-put.ts`;
 * multipart uploads: `s3-multipart.ts`; error mapping: `s3-errors.ts`.
 *
 * Client settings, each for a reason:
 * - `forcePathStyle`: RGW (and most S3 look-alikes) serve `http://host/bucket/key`, not bucket.host.
 * - checksums only WHEN_REQUIRED: SDK v3 ≥ 3.729 otherwise sends streamed bodies as aws-chunked with
 *   trailing checksums, which RGW Pacific answers with 411 MissingContentLength.
 * Keys: the store's prefix ('' or 'segments/') + the key, validated by `relativePath`; listings strip
 * the prefix again from keys and common prefixes. The list cursor is S3's continuation token.
 */
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BlobBody, BlobInfo, BlobOptions, BlobStore, ListOptions, ListPage, PutOptions } from '@distci/common';
import { distciError, relativePath } from '@distci/common';
import {
  checkListOptions,
  checkPutOptions,
  compileBlobPrefix,
  DEFAULT_CONTENT_TYPE,
  unquoteEtag,
} from '@distci/common/adapter-support';
import { s3Failure, sdkError, statusOf } from './s3-errors.js';
import { putToS3 } from './s3-put.js';

export type S3BlobOptions = Omit<Extract<BlobOptions, { type: 's3' }>, 'type'> & { readonly type?: 's3' };

const silentLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export function createS3BlobStore(options: S3BlobOptions): BlobStore {
  const prefix = compileBlobPrefix(options.prefix);
  const where = { endpoint: options.endpoint, bucket: options.bucket };
  const Bucket = options.bucket;
  const client = new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Without a logger the SDK console.warn()s "non-retryable streaming request" on every failed streamed
    // PUT, 412s included; our errors carry what matters.
    logger: silentLogger,
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
  });
  let closed = false;

  const checkOpen = (): void => {
    if (closed) {
      throw distciError(
        'DISTCI_STORE_CLOSED',
        `the S3 blob store (bucket '${Bucket}' at ${options.endpoint}) is closed`,
      );
    }
  };
  const fullKey = (key: string): string => {
    checkOpen();
    return prefix + relativePath(key, 'object key');
  };

  const head = async (key: string): Promise<BlobInfo | null> => {
    const Key = fullKey(key);
    try {
      const r = await client.send(new HeadObjectCommand({ Bucket, Key }));
      return {
        key,
        size: r.ContentLength ?? 0,
        etag: unquoteEtag(r.ETag ?? ''),
        lastModified: r.LastModified ?? new Date(0),
        contentType: r.ContentType ?? DEFAULT_CONTENT_TYPE,
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw s3Failure(where, 'HeadObject', key, err);
    }
  };

  return {
    kind: 's3',
    where: `bucket '${Bucket}' at ${options.endpoint}`,

    async containerExists() {
      checkOpen();
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw s3Failure(where, 'HeadBucket', '', err);
      }
    },

    async createContainer() {
      // HEAD first: RGW (like S3 in us-east-1) answers 200 to a CreateBucket of a bucket its caller owns
      // already, so the create alone cannot tell "created" from "was there".
      if (await this.containerExists()) return false;
      try {
        await client.send(new CreateBucketCommand({ Bucket }));
        return true;
      } catch (err) {
        // Two `storage init` racing, or a re-run: the bucket is ours already, which is what was asked.
        const name = sdkError(err).name;
        if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return false;
        throw s3Failure(where, 'CreateBucket', '', err);
      }
    },

    async put(key, body: BlobBody, put: PutOptions = {}) {
      let Key: string;
      try {
        Key = fullKey(key);
        checkPutOptions(key, put);
      } catch (err) {
        if (body instanceof Readable) body.destroy();
        throw err;
      }
      return { etag: await putToS3({ ...where, client, key, fullKey: Key, head: () => head(key) }, body, put) };
    },

    async get(key) {
      const Key = fullKey(key);
      try {
        const r = await client.send(new GetObjectCommand({ Bucket, Key }));
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
            hint: `nothing was stored at that key in bucket '${Bucket}' at ${options.endpoint}`,
          });
        }
        throw s3Failure(where, 'GetObject', key, err);
      }
    },

    head,

    async list(list: ListOptions = {}): Promise<ListPage> {
      const limit = checkListOptions(list);
      checkOpen();
      try {
        const r = await client.send(
          new ListObjectsV2Command({
            Bucket,
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
        throw s3Failure(where, 'ListObjectsV2', `${list.prefix ?? ''}*`, err);
      }
    },

    async delete(key) {
      const Key = fullKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key }));
      } catch (err) {
        // S3 answers 204 for a missing key; a 404 from a look-alike means the same, unless the bucket is gone.
        if (statusOf(err) === 404 && sdkError(err).name !== 'NoSuchBucket') return;
        throw s3Failure(where, 'DeleteObject', key, err);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
