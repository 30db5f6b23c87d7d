/**
 * Puts to S3, by body:
 * - Uint8Array / string, and streams that end within one part (8 MiB): one PutObject. Conditions travel
 *   as `If-None-Match: *` / `If-Match: <etag>`; S3 enforces them atomically and answers 412.
 * - Longer streams, unconditional: a multipart upload (`s3-multipart.ts`), aborted on any failure.
 * - Longer streams WITH a condition: spooled to a temp file, then one PutObject (at most 5 GiB, S3's
 *   limit for a single PUT). Multipart cannot carry the condition: RGW Pacific ignores If-None-Match and
 *   If-Match on CompleteMultipartUpload (measured: both overwrite the object), so the only atomic check
 *   is on a single PUT. Conditional puts are for small records (job configs), so the copy is rare.
 * A put whose body stream fails writes nothing and throws DISTCI_BLOB_STORE_ERROR; the put owns the
 * caller's stream: it is read to the end or destroyed.
 *
 * Found on RGW Pacific 16.2.15 (and the reason for the code that handles them):
 * - `If-Match` must carry the bare ETag: the quoted form HTTP prescribes always fails with 412.
 * - The losers of a concurrent If-Match race get 500 (ECANCELED), not 412 (see putSingle).
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
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BlobBody, BlobInfo, PutOptions } from '@distci/common';
import { distciError } from '@distci/common';
import { bodyFailed, DEFAULT_CONTENT_TYPE, putConflict, toBuffer, unquoteEtag } from '@distci/common/adapter-support';
import { attemptsOf, type S3Where, s3Failure, statusOf } from './s3-errors.js';
import { chunks, PART_SIZE, uploadMultipart } from './s3-multipart.js';

/** 5 GiB: the largest object S3 (and RGW's default rgw_max_put_size) accepts in one PUT. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export interface S3PutTarget extends S3Where {
  client: S3Client;
  /** The key as the caller named it (for messages). */
  key: string;
  /** The key in the bucket: the store's prefix + `key`. */
  fullKey: string;
  /** A head of the same key, for the retried-conditional-put check. */
  head(): Promise<BlobInfo | null>;
}

/** Puts `body`; returns the new object's ETag. */
export async function putToS3(target: S3PutTarget, body: BlobBody, put: PutOptions): Promise<string> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const buf = toBuffer(body);
    return putSingle(
      target,
      () => buf,
      buf.length,
      put,
      () => md5Hex(buf),
    );
  }
  const parts = chunks(body, PART_SIZE);
  try {
    let first: IteratorResult<Buffer>;
    try {
      first = await parts.next();
    } catch (err) {
      throw bodyFailed(target.key, err);
    }
    if (first.done || first.value.length < PART_SIZE) {
      const buf = first.done ? Buffer.alloc(0) : first.value;
      return await putSingle(
        target,
        () => buf,
        buf.length,
        put,
        () => md5Hex(buf),
      );
    }
    if (put.ifNoneMatch || put.ifMatch !== undefined) return await putSpooled(target, first.value, parts, put);
    try {
      return await uploadMultipart(
        {
          client: target.client,
          bucket: target.bucket,
          key: target.fullKey,
          contentType: put.contentType ?? DEFAULT_CONTENT_TYPE,
        },
        first.value,
        guardBody(target.key, parts),
      );
    } catch (err) {
      throw s3Failure(target, 'multipart upload', target.key, err);
    }
  } finally {
    // Ends the generator, which destroys the caller's stream when we stopped reading early.
    await parts.return(undefined).catch(() => {});
  }
}

/** 3: a 5xx on a conditional put whose condition still holds is sent again at most twice more. */
const CONDITIONAL_ATTEMPTS = 3;

/**
 * One PutObject of `body()` (a factory: a conditional put may be sent again). `md5` (lazy) is the body's
 * hex md5, needed only to recognise our own write after a retry.
 *
 * A conditional put that fails is checked against what the key holds now: RGW answers the losers of a
 * concurrent If-Match race with 500 (ECANCELED, "resorting to 500" in its log; measured: 16 writers on
 * one ETag, most losers got 500, not 412). So a 5xx is a conflict when the condition no longer holds, is
 * sent again when it still does, and is our success when the key holds our body.
 */
async function putSingle(
  target: S3PutTarget,
  body: () => Buffer | Readable,
  size: number,
  put: PutOptions,
  md5: () => string,
): Promise<string> {
  const conditional = put.ifNoneMatch !== undefined || put.ifMatch !== undefined;
  for (let attempt = 1; ; attempt++) {
    const sent = body();
    try {
      const r = await target.client.send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: target.fullKey,
          Body: sent,
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
      const refused = status === 412 || (status === 404 && put.ifMatch !== undefined);
      const failed = status !== undefined && status >= 500;
      if (!conditional || !(refused || failed)) throw s3Failure(target, 'PutObject', target.key, err);
      const current = await target.head();
      // Our body is there: an earlier attempt whose answer was lost (the SDK retried it), or this one.
      if (current?.etag === md5() && (failed || attemptsOf(err) > 1)) return md5();
      if (refused) throw putConflict(target.key, put);
      const holds = put.ifNoneMatch ? current === null : current?.etag === unquoteEtag(put.ifMatch ?? '');
      if (!holds) throw putConflict(target.key, put);
      if (attempt >= CONDITIONAL_ATTEMPTS) throw s3Failure(target, 'PutObject', target.key, err);
    } finally {
      if (sent instanceof Readable) sent.destroy();
    }
  }
}

/** A long conditional stream: copied to a temp file (hashing it), then sent as one conditional PUT. */
async function putSpooled(
  target: S3PutTarget,
  first: Buffer,
  rest: AsyncGenerator<Buffer>,
  put: PutOptions,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'distci-s3-spool-'));
  try {
    const file = join(dir, 'body');
    const hash = createHash('md5');
    let size = 0;
    const counting = (part: Buffer): Buffer => {
      size += part.length;
      hash.update(part);
      if (size > MAX_SINGLE_PUT) {
        throw distciError('DISTCI_BLOB_STORE_ERROR', `conditional put of '${target.key}' is larger than 5 GiB`, {
          hint: 'a conditional put is one PUT, which S3 limits to 5 GiB; put large objects without a condition',
        });
      }
      return part;
    };
    const counted = async function* (): AsyncGenerator<Buffer> {
      yield counting(first);
      for await (const part of guardBody(target.key, rest)) yield counting(part);
    };
    await pipeline(Readable.from(counted()), createWriteStream(file));
    return await putSingle(target, () => createReadStream(file), size, put, digestOnce(hash));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
