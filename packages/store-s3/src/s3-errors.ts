/**
 * How the S3 adapter turns SDK failures into distci errors: a status the caller can act on
 * (not found, conflict) or DISTCI_BLOB_STORE_ERROR with the S3 error's name and status and a hint that
 * says what to check. Nothing else of the response (request ids, XML, stacks) reaches the message; the
 * SDK error stays available as `cause` for logs.
 */
import { type DistciError, distciError, isDistciError } from '@distci/common';

/** What the SDK puts on its errors, all optional: network errors have no `$metadata`. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}
export const sdkError = (err: unknown): SdkError => (typeof err === 'object' && err !== null ? (err as SdkError) : {});
export const statusOf = (err: unknown): number | undefined => sdkError(err).$metadata?.httpStatusCode;
/** How many times the SDK sent the request (it retries network errors and 5xx). */
export const attemptsOf = (err: unknown): number => sdkError(err).$metadata?.attempts ?? 1;

export interface S3Where {
  endpoint: string;
  bucket: string;
}

/** Any failure that is not a distci error yet becomes DISTCI_BLOB_STORE_ERROR with what to check. */
export function s3Failure(where: S3Where, op: string, key: string, err: unknown): DistciError {
  if (isDistciError(err)) return err;
  const e = sdkError(err);
  const status = statusOf(err);
  const what = status !== undefined ? `${e.name ?? 'error'} (HTTP ${status})` : (e.code ?? e.name ?? 'error');
  const at = `bucket '${where.bucket}' at ${where.endpoint}`;
  let hint = `check that ${at} is reachable and healthy`;
  if (e.name === 'NoSuchBucket') {
    hint = `create the bucket '${where.bucket}' first`;
  } else if (status === 403 || e.name === 'InvalidAccessKeyId' || e.name === 'SignatureDoesNotMatch') {
    hint = `check the S3 credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) for ${at}`;
  } else if (
    status === undefined &&
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EPIPE/.test(`${e.code} ${e.message}`)
  ) {
    hint = `is the S3 endpoint ${where.endpoint} up? (DISTCI_S3_ENDPOINT)`;
  }
  return distciError('DISTCI_BLOB_STORE_ERROR', `S3 ${op} of '${key}' failed: ${what}`, { hint, cause: err });
}
