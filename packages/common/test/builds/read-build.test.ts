import { memoryStore, tempBlobStore } from '@distci/testkit';
import t from 'tap';
import type { BuildRecord } from '../../src/builds/build-record.js';
import { triggerBuild } from '../../src/builds/trigger-build.js';
import { openDistci } from '../../src/distci/open-distci.js';
import { blobKeys, zpaths } from '../../src/keys.js';

const config = { key: blobKeys.jobConfigVersion('web', 'b'.repeat(64)), etag: 'b'.repeat(64) };
const record = (number: number, status: BuildRecord['status']): BuildRecord => ({
  v: 1,
  job: 'web',
  number,
  status,
  trigger: { type: 'manual' },
  ref: null,
  commit: null,
  params: {},
  config,
  createdAt: 1000,
  startedAt: 1001,
  finishedAt: 2000,
  cancel: null,
  steps: [],
});

t.test('an archived build is read from the object store once, a live or missing one every time', async (t) => {
  const store = await memoryStore(t, '/read');
  const blob = await tempBlobStore(t, 'read-build');
  let gets = 0;
  const counted = new Proxy(blob, {
    get(target, key, receiver) {
      if (key === 'get') gets++;
      return Reflect.get(target, key, receiver);
    },
  });
  await triggerBuild(store, { job: 'web', config, trigger: { type: 'manual' }, ref: null });
  await triggerBuild(store, { job: 'web', config, trigger: { type: 'manual' }, ref: null });
  // The memory is the domain object's (`openDistci`), one per opened storage.
  const { builds } = openDistci({ store, blob: counted });

  // Build 1: live, then archived (record first, node removed second, as the control worker does).
  t.match(await builds.read('web', 1), { live: true, status: 'queued' });
  t.match(await builds.read('web', 1), { live: true }, 'a live build is never kept');
  t.equal(gets, 0, 'a live build needs no object GET');
  await blob.put(blobKeys.build('web', 1), JSON.stringify(record(1, 'success')));
  await store.delete(`${zpaths.build('web', 1)}/steps`);
  await store.delete(zpaths.build('web', 1));
  t.match(await builds.read('web', 1), { live: false, status: 'success' });
  t.equal(gets, 1);
  const again = await builds.read('web', 1);
  t.match(again, { live: false, status: 'success', number: 1 });
  t.equal(gets, 1, 'the second read of an archived build is answered from memory');
  again.steps.push({ id: 'x' } as never);
  t.same((await builds.read('web', 1)).steps, [], 'each answer is a copy');

  // Build 3 does not exist yet: not found is not kept.
  await t.rejects(builds.read('web', 3), { code: 'DISTCI_BUILD_NOT_FOUND' });
  await blob.put(blobKeys.build('web', 3), JSON.stringify(record(3, 'failure')));
  t.match(await builds.read('web', 3), { live: false, status: 'failure' });

  // Another object store (another cluster or key prefix) is another domain object with its own memory.
  const other = await tempBlobStore(t, 'read-build-other');
  await t.rejects(openDistci({ store, blob: other }).builds.read('web', 1), { code: 'DISTCI_BUILD_NOT_FOUND' });
});
