/**
 * Format versions (rolling upgrades, issue 17): a record without `v` reads as v1, a v1 record reads,
 * and a record of a newer major version is refused with DISTCI_NEWER_FORMAT by each reader — never
 * misread. Writers put `v: 1` in presence and claim nodes too (tickets, build state, step state, job
 * nodes, build records, manifests, inbox records, secrets and tokens had it already).
 */
import { memoryStore, tempBlobStore } from '@distci/testkit';
import t from 'tap';
import { readBuildRecord } from '../src/builds/read-build.js';
import { checkFormat, FORMAT_VERSION, parseRecord } from '../src/format-version.js';
import { blobKeys, zpaths } from '../src/keys.js';
import { readTokenRecords } from '../src/secrets/token-store.js';
import { listWorkers, writePresence } from '../src/tickets/presence.js';
import { decodeTicket } from '../src/tickets/ticket.js';

const newer = { code: 'DISTCI_NEWER_FORMAT', details: { v: FORMAT_VERSION + 1, supported: FORMAT_VERSION } };

t.test('checkFormat: no v and v1 read; a newer or malformed v is refused', async (t) => {
  t.same(checkFormat({ a: 1 }, 'x'), { a: 1 }, 'no v: v1');
  t.same(checkFormat({ v: 1, a: 1 }, 'x'), { v: 1, a: 1 });
  t.throws(() => checkFormat({ v: 2 }, 'the thing'), { ...newer, message: /the thing has format version 2/ });
  t.throws(() => checkFormat({ v: '1' }, 'x'), { code: 'DISTCI_NEWER_FORMAT' }, 'a v that is not an integer');
  t.throws(() => parseRecord('{"v":2}', 'x'), newer);
});

t.test('tickets: v1 reads, v2 is refused by its code, garbage stays a coordination error', async (t) => {
  const v1 = { v: 1, payload: {}, maxAttempts: 3, attempt: 0, lost: 0, state: 'waiting' };
  t.equal(decodeTicket(Buffer.from(JSON.stringify(v1)), '/t').attempt, 0);
  t.throws(() => decodeTicket(Buffer.from(JSON.stringify({ ...v1, v: 2 })), '/t'), newer);
  t.throws(() => decodeTicket(Buffer.from('nope'), '/t'), { code: 'DISTCI_COORDINATION_ERROR' });
});

t.test('presence: written with v, read without it; a newer one is refused', async (t) => {
  const store = await memoryStore(t, '/format-presence');
  const p = {
    id: 'w1',
    kind: 'control' as const,
    labels: [],
    host: 'h',
    pid: 1,
    version: '0.1.0',
    capacity: 1,
    running: [],
    startedAt: 1,
    state: 'running' as const,
  };
  await writePresence(store, p);
  t.match(JSON.parse((await store.get(zpaths.worker('control', 'w1'))).data.toString()), { v: 1, id: 'w1' });
  t.same(await listWorkers(store), [p], 'the view has no v');
  await store.set(zpaths.worker('control', 'w1'), Buffer.from(JSON.stringify({ ...p, v: 2 })));
  await t.rejects(listWorkers(store), newer);
});

t.test('object store records: a build record and a token of a newer format are refused', async (t) => {
  const blob = await tempBlobStore(t, 'format');
  await blob.put(blobKeys.build('web', 1), JSON.stringify({ v: 2, job: 'web', number: 1 }));
  await t.rejects(readBuildRecord(blob, 'web', 1), newer);
  await blob.put(blobKeys.token('a'.repeat(64)), JSON.stringify({ v: 2, id: 'aaaaaaaa' }));
  await t.rejects(readTokenRecords(blob), newer);
});
