import { memoryStore, memoryStores } from '@distci/testkit';
import t from 'tap';
import { triggerBuild } from '../../src/builds/trigger-build.js';
import type { CoordinationStore } from '../../src/coordination-store.js';
import { createDomainCaches } from '../../src/domain-caches.js';
import { blobKeys, zpaths } from '../../src/keys.js';

const config = { key: blobKeys.jobConfigVersion('web', 'b'.repeat(64)), etag: 'b'.repeat(64) };
const req = (job = 'web') => ({ job, config, trigger: { type: 'manual' as const }, ref: null });

/** Counts the calls of each store method (write transactions are `multi`, `create`, `ensurePath`…). */
function counting(store: CoordinationStore): { store: CoordinationStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

t.test('triggers at once from one process take their turns: one multi each, numbers 1..N', async (t) => {
  const raw = await memoryStore(t, '/trigger');
  const { store, calls } = counting(raw);
  const caches = createDomainCaches(); // what `openDistci` owns: the turn queue and the parents ensured
  const numbers = await Promise.all(Array.from({ length: 40 }, () => triggerBuild(store, req(), caches)));
  t.same(
    [...numbers].sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  t.equal(calls.get('multi'), 40, 'no trigger lost the counter race to another of this process');
  const ensured = calls.get('ensurePath') ?? 0;
  await Promise.all(Array.from({ length: 10 }, () => triggerBuild(store, req(), caches)));
  t.equal(
    calls.get('ensurePath'),
    ensured,
    'parents are ensured once per process, not per trigger (a failed create is a write)',
  );
  t.equal((await raw.children(zpaths.builds('web'))).length, 50);

  // A trigger that fails does not hold up the next one.
  await t.rejects(triggerBuild(store, { ...req(), seedSteps: { '..': {} as never } }, caches), {
    code: 'DISTCI_BAD_PATH',
  });
  t.equal(await triggerBuild(store, req(), caches), 51);
});

t.test('triggers from several sessions (frontends) at once still get unique, contiguous numbers', async (t) => {
  const stores = await memoryStores(t, '/trigger2', 3);
  const numbers = (
    await Promise.all(stores.flatMap((s) => Array.from({ length: 15 }, () => triggerBuild(s, req('api')))))
  ).sort((a, b) => a - b);
  t.same(
    numbers,
    Array.from({ length: 45 }, (_, i) => i + 1),
  );
});
