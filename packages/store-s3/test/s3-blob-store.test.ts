/**
 * The S3 adapter against the test run's real Ceph RGW (started by the before-hook): the shared
 * conformance suite, each test under its own key prefix in the shared bucket.
 */

import { blobConformance, loadServices } from '@distci/testkit';
import t from 'tap';
import { createS3BlobStore } from '../src/s3-blob-store.js';

const { s3 } = loadServices();

blobConformance(t, {
  name: 's3',
  open: async (prefix) =>
    createS3BlobStore({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix,
    }),
  openMissing: async (name) =>
    createS3BlobStore({
      endpoint: s3.endpoint,
      bucket: name,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix: '',
    }),
});

t.test('s3: a missing bucket and a dead endpoint are clear errors', async (t) => {
  const noBucket = createS3BlobStore({ ...s3, bucket: 'no-such-bucket-here', prefix: '' });
  t.teardown(() => noBucket.close());
  await t.rejects(noBucket.put('k', 'v'), {
    code: 'DISTCI_BLOB_STORE_ERROR',
    message: /NoSuchBucket.*create the bucket 'no-such-bucket-here' first/,
  });
  const dead = createS3BlobStore({ ...s3, endpoint: 'http://127.0.0.1:1', prefix: '' });
  t.teardown(() => dead.close());
  await t.rejects(dead.head('k'), { code: 'DISTCI_BLOB_STORE_ERROR', message: /is the S3 endpoint .* up/ });
});
