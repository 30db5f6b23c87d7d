/**
 * Streams to S3 in parts: `chunks` cuts a stream into part-sized buffers, `uploadMultipart` sends them as
 * one multipart upload and aborts it on any failure, so that a failed put leaves nothing behind (no
 * object, no orphaned parts).
 *
 * Why not @aws-sdk/lib-storage's `Upload`: RGW Pacific (16.2.15) answers CompleteMultipartUpload with an
 * empty `<ETag>` and `Upload` passes that on as ''. We keep the parts' ETags and compute the object's
 * ETag the way S3 and RGW do (md5 of the concatenated binary part md5s, then `-<parts>`), which is
 * exactly what a later head returns and cannot race with another writer the way a head would.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { toBuffer, unquoteEtag } from '@distci/common/adapter-support';

/** 8 MiB: above S3's 5 MiB minimum part; 10,000 parts (S3's maximum) make 80 GiB, far above a workspace. */
export const PART_SIZE = 8 * 1024 * 1024;
/** 4 parts in flight: enough to keep RGW busy on 2 cores; at most 5 parts (40 MiB) in memory per upload. */
export const PARTS_IN_FLIGHT = 4;
const MAX_PARTS = 10_000;

/** Buffers of exactly `size` bytes (the last one shorter); nothing for an empty stream. */
export async function* chunks(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const data of stream) {
    let buf = toBuffer(data);
    while (length + buf.length >= size) {
      const take = size - length;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending, size);
      pending = [];
      length = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      pending.push(buf);
      length += buf.length;
    }
  }
  if (length > 0) yield Buffer.concat(pending, length);
}

export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
}

/**
 * Uploads `first` and then every buffer of `rest` as parts 1, 2, …; returns the object's ETag. On any
 * failure (S3's or the stream's) the upload is aborted and the error rethrown.
 */
export async function uploadMultipart(
  target: MultipartTarget,
  first: Buffer,
  rest: AsyncIterator<Buffer>,
): Promise<string> {
  const { client, bucket: Bucket, key: Key } = target;
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: target.contentType }));
  const UploadId = created.UploadId;
  if (!UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    let part: Buffer | undefined = first;
    for (let partNumber = 1; part; partNumber++) {
      if (partNumber > MAX_PARTS) throw new Error(`the body needs more than ${MAX_PARTS} parts of ${PART_SIZE} bytes`);
      const n = partNumber;
      const Body = part;
      const sent: Promise<void> = client
        .send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: n, Body, ContentLength: Body.length }))
        .then((r) => {
          if (!r.ETag) throw new Error(`UploadPart ${n} returned no ETag`);
          etags[n - 1] = r.ETag;
        })
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      if (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
      if (failure) throw failure.error;
      const next = await rest.next();
      part = next.done ? undefined : next.value;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    return done.ETag ? unquoteEtag(done.ETag) : multipartEtag(etags);
  } catch (err) {
    await Promise.allSettled(inFlight);
    // Best effort: a failed abort leaves parts that a bucket lifecycle rule (AbortIncompleteMultipartUpload) reaps.
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {});
    throw err;
  }
}

/** The ETag S3 gives a multipart object: md5 over the parts' binary md5s, then `-<number of parts>`. */
export function multipartEtag(partEtags: string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(unquoteEtag(etag), 'hex'));
  return `${md5.digest('hex')}-${partEtags.length}`;
}
