/**
 * The webhook inbox's guarantees, with the crashes made by hand: a frontend that dies after recording a
 * delivery, or after triggering some of its builds, loses nothing — a redelivery or the sweeper
 * completes it — and nothing is ever built twice, however many completers race.
 */
import {
  blobKeys,
  type InboxRecord,
  openDistci,
  readRecord,
  receiveDelivery,
  SOURCE,
  saveJob,
  targetsOf,
  triggerOnce,
  zpaths,
} from '@distci/common';
import t, { type Test } from 'tap';
import { sweepInbox } from '../../src/github/inbox-sweeper.js';
import { embeddedStorage, jobConfig } from '../helpers/frontend.js';

const COMMIT = 'a'.repeat(40);
const silent = { info() {}, warn() {}, error() {} } as never;

async function setup(t: Test) {
  const storage = await embeddedStorage(t);
  const store = await storage.connect();
  t.teardown(() => store.close());
  const versions: Record<string, { key: string; etag: string }> = {};
  for (const name of ['a', 'b', 'c']) versions[name] = (await saveJob(store, storage.blob, jobConfig(name))).version;
  const record = async (delivery: string): Promise<InboxRecord> => ({
    v: 1,
    delivery,
    event: 'push',
    receivedAt: Date.now(),
    sender: 'octocat',
    targets: await targetsOf(
      store,
      Object.entries(versions).map(([job, config]) => ({ job, config })),
      'refs/heads/main',
      COMMIT,
    ),
    done: false,
  });
  const builds = async (job: string) => (await store.children(zpaths.builds(job)).catch(() => [])).length;
  return { storage, store, blob: storage.blob, record, builds };
}

t.test('concurrent triggerOnce of one target: one build', async (t) => {
  const { store, blob, record, builds } = await setup(t);
  const r = await record('d-1');
  const results = await Promise.all(Array.from({ length: 8 }, () => triggerOnce({ store, blob }, r, r.targets[0]!)));
  t.same(new Set(results.map((x) => x.number)), new Set([1]));
  t.equal(results.filter((x) => x.triggered).length, 1);
  t.equal(await builds('a'), 1);
  // Builds of the same job for other reasons in between do not confuse it.
  const other = await triggerOnce({ store, blob }, { ...r, delivery: 'd-other' }, r.targets[0]!);
  t.same(other, { number: 2, triggered: true });
  t.same(await triggerOnce({ store, blob }, r, r.targets[0]!), { number: 1, triggered: false });
});

t.test('a frontend that died after recording and after one trigger: a redelivery completes it', async (t) => {
  const { store, blob, record, builds } = await setup(t);
  const r = await record('d-2');
  // What the dead frontend did: the open marker, the record, one of three builds — then nothing.
  await blob.put(blobKeys.webhookOpen(SOURCE, 'd-2'), 'x');
  await blob.put(blobKeys.webhookDelivery(SOURCE, 'd-2'), JSON.stringify(r), { ifNoneMatch: '*' });
  await triggerOnce({ store, blob }, r, r.targets[1]!);
  // Meanwhile another delivery built job c.
  await triggerOnce({ store, blob }, { ...r, delivery: 'd-x' }, r.targets[2]!);

  const redelivered = await receiveDelivery({ store, blob }, 'd-2', async () => {
    throw new Error('a known delivery is not matched again');
  });
  t.ok(redelivered);
  t.equal(redelivered!.duplicate, true);
  t.equal(redelivered!.triggered, 2, 'a and c were missing');
  t.same(
    redelivered!.record.targets.map((x) => [x.job, x.build]),
    [
      ['a', 1],
      ['b', 1],
      ['c', 2],
    ],
  );
  t.ok(redelivered!.record.done);
  t.same([await builds('a'), await builds('b'), await builds('c')], [1, 1, 2]);
  t.equal(await blob.head(blobKeys.webhookOpen(SOURCE, 'd-2')), null, 'closed');
  const again = await receiveDelivery({ store, blob }, 'd-2', async () => null);
  t.same(again, { record: redelivered!.record, duplicate: true, triggered: 0 });
});

t.test('the sweeper completes what a dead frontend left open, and drops markers without a record', async (t) => {
  const { store, blob, record, builds } = await setup(t);
  const r = await record('d-3');
  await blob.put(blobKeys.webhookOpen(SOURCE, 'd-3'), 'x');
  await blob.put(blobKeys.webhookDelivery(SOURCE, 'd-3'), JSON.stringify(r), { ifNoneMatch: '*' });
  await blob.put(blobKeys.webhookOpen(SOURCE, 'd-orphan'), 'x'); // died before its record
  // Young markers are left to their requests.
  t.equal(await sweepInbox({ webhooks: openDistci({ store, blob }).webhooks, graceMs: 60_000, log: silent }), 0);
  t.same([await builds('a'), await builds('b'), await builds('c')], [0, 0, 0]);
  const closed = await sweepInbox(
    { webhooks: openDistci({ store, blob }).webhooks, graceMs: 60_000, log: silent },
    Date.now() + 120_000,
  );
  t.equal(closed, 2);
  t.same([await builds('a'), await builds('b'), await builds('c')], [1, 1, 1]);
  t.ok((await readRecord(blob, 'd-3'))!.record.done);
  const open = await blob.list({ prefix: blobKeys.webhookOpenPrefix(SOURCE) });
  t.same(open.blobs, []);
});

t.test('many receivers of one new delivery: one record, one build per job', async (t) => {
  const { store, blob, record, builds } = await setup(t);
  const results = await Promise.all(
    Array.from({ length: 6 }, () => receiveDelivery({ store, blob }, 'd-4', () => record('d-4'))),
  );
  t.equal(results.filter((x) => x && !x.duplicate).length, 1);
  t.equal(
    results.reduce((n, x) => n + (x?.triggered ?? 0), 0),
    3,
  );
  for (const x of results)
    t.same(
      x!.record.targets.map((y) => y.build),
      [1, 1, 1],
    );
  t.same([await builds('a'), await builds('b'), await builds('c')], [1, 1, 1]);
});

t.test('targetsOf reads build counters without creating job nodes', async (t) => {
  const { store, record } = await setup(t);
  const before = await store.exists(zpaths.job('a'));
  t.equal(before, null);
  t.same(
    (await record('d-5')).targets.map((x) => x.fromBuild),
    [1, 1, 1],
  );
  t.equal(await store.exists(zpaths.job('a')), null);
});
