/**
 * One shared reader per followed log (issue 13, hole 7): N followers of one log cost the object-store
 * reads of one, whatever N is. Counted on a real directory blob store; the poll timer is set to an
 * hour so that only the followers' own `catchUp` calls read (no timing in the assertions).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDirectoryBlobStore } from '@distci/store-directory';
import t, { type Test } from 'tap';
import type { BlobStore } from '../../src/blob-store.js';
import { openLogs } from '../../src/distci/logs-service.js';

const ref = { job: 'web', build: 3, step: 'test', attempt: 1 };
const FOLLOWERS = 50;
const HOUR = 3_600_000;

async function countedBlob(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'distci-log-feed-'));
  const blob = createDirectoryBlobStore({ dir, prefix: '' });
  t.teardown(async () => {
    await blob.close();
    await rm(dir, { recursive: true, force: true });
  });
  const counter = { gets: 0 };
  const counted = new Proxy(blob, {
    get(target, key, receiver) {
      if (key === 'get') counter.gets++;
      return Reflect.get(target, key, receiver);
    },
  }) as BlobStore;
  return { blob, counted, counter };
}

t.test(`${FOLLOWERS} followers of one log: each chunk is read once, probes are shared`, async (t) => {
  const { blob, counted, counter } = await countedBlob(t);
  const writer = openLogs(blob);
  const logs = openLogs(counted, { pollMs: HOUR });
  for (const i of [0, 1, 2]) await writer.append(ref, i, Buffer.from(`chunk ${i}\n`));

  const woken = new Array<number>(FOLLOWERS).fill(0);
  const feeds = Array.from({ length: FOLLOWERS }, (_, f) =>
    logs.follow(ref, () => {
      woken[f] = (woken[f] ?? 0) + 1;
    }),
  );
  t.equal(logs.followed(), 1, 'one reader for the one log');
  await Promise.all(feeds.map((feed) => feed.catchUp()));
  const text = await Promise.all(
    feeds.map(async (feed) => {
      const parts: string[] = [];
      for (let i = 0; ; i++) {
        const chunk = await feed.chunk(i);
        if (!chunk) break;
        parts.push(chunk.toString());
      }
      return parts.join('');
    }),
  );
  t.same(new Set(text), new Set(['chunk 0\nchunk 1\nchunk 2\n']), 'every follower has every chunk');
  t.ok(
    counter.gets <= 3 + 2,
    `3 chunks read once + at most 2 shared probes of chunk 3 (got ${counter.gets} GETs for ${FOLLOWERS} followers; one reader each would be ≥ ${FOLLOWERS * 4})`,
  );
  t.ok(
    woken.every((n) => n >= 1),
    'every follower was told that chunks arrived',
  );

  // A new chunk: all followers ask at once, one probe finds it (plus one shared probe after it).
  const before = counter.gets;
  await writer.append(ref, 3, Buffer.from('chunk 3\n'));
  await Promise.all(feeds.map((feed) => feed.catchUp()));
  t.ok(
    counter.gets - before <= 3,
    `a new chunk costs ≤ 3 GETs for ${FOLLOWERS} followers (got ${counter.gets - before})`,
  );
  for (const feed of feeds) t.equal((await feed.chunk(3))?.toString(), 'chunk 3\n');

  for (const feed of feeds) feed.close();
  t.equal(logs.followed(), 0, 'the reader stops with its last follower');
});

t.test('a catch-up asked for after a chunk was stored always sees it, even while a probe runs', async (t) => {
  const { blob, counted } = await countedBlob(t);
  const writer = openLogs(blob);
  const logs = openLogs(counted, { pollMs: HOUR });
  const feed = logs.follow(ref, () => {});
  t.teardown(() => feed.close());
  for (let i = 0; i < 20; i++) {
    const running = feed.catchUp(); // a probe that may already have looked past chunk i
    await writer.append(ref, i, Buffer.from(`${i}`));
    await feed.catchUp();
    t.equal((await feed.chunk(i))?.toString(), `${i}`, `chunk ${i} seen by the catch-up that followed it`);
    await running;
  }
});

t.test('a follower behind the window reads its backlog itself; the window stays bounded', async (t) => {
  const { blob, counted, counter } = await countedBlob(t);
  const writer = openLogs(blob);
  const logs = openLogs(counted, { pollMs: HOUR });
  for (let i = 0; i < 100; i++) await writer.append(ref, i, Buffer.from(`line ${i}\n`));
  const live = logs.follow(ref, () => {});
  await live.catchUp();
  t.equal(live.known, 100);
  const late = logs.follow(ref, () => {});
  const before = counter.gets;
  t.equal((await late.chunk(0))?.toString(), 'line 0\n', 'an old chunk is read from the store');
  t.equal(counter.gets - before, 1);
  t.equal((await late.chunk(99))?.toString(), 'line 99\n', 'a recent one comes from the window');
  t.equal(counter.gets - before, 1);
  t.equal(await late.chunk(100), null, 'nothing past what the reader has seen, and no read for it');
  t.equal(counter.gets - before, 1);
  live.close();
  late.close();
});
