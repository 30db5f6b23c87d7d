/**
 * The concurrency group's race: a build joining while the one it would wait for leaves. Both compute
 * their writes from the same reads; whichever commits second must fail (a conflict: its control ticket
 * is released and looks again), so a joiner never waits for a build that already left without posting
 * the ticket that starts it.
 */
import { memoryStore } from '@distci/testkit';
import t, { type Test } from 'tap';
import { type BuildState, type ControlPayload, decodeJson } from '../../src/builds/build-state.js';
import { readBuildState } from '../../src/builds/build-state-node.js';
import { groupGate, leaveGroupOps } from '../../src/builds/concurrency-group.js';
import { triggerBuild } from '../../src/builds/trigger-build.js';
import type { CoordinationStore, Op } from '../../src/coordination-store.js';
import type { JobConfig } from '../../src/jobs/job-config.js';
import { blobKeys, zpaths } from '../../src/keys.js';

const config: JobConfig = {
  name: 'deploy',
  concurrency: { group: 'deploy-{{ ref }}' },
  steps: [{ name: 's', type: 'exec-shell', run: 'true' }],
};
const version = { key: blobKeys.jobConfigVersion('deploy', 'a'.repeat(64)), etag: 'a'.repeat(64) };

async function setup(t: Test): Promise<CoordinationStore> {
  const store = await memoryStore(t, '/groups-race');
  for (let i = 0; i < 2; i++) {
    await triggerBuild(store, { job: 'deploy', config: version, trigger: { type: 'manual' }, ref: 'main' });
  }
  return store;
}

async function read(store: CoordinationStore, n: number) {
  const r = (await readBuildState(store, 'deploy', n))!;
  return { build: r.state, version: r.version };
}

async function gate(store: CoordinationStore, n: number) {
  const g = await groupGate(store, await read(store, n), config, Date.now());
  if (!g || 'start' in g) throw new Error(`build ${n} did not join`);
  return g;
}

/** The control tickets the ops create, as payloads. */
function advances(ops: Op[]): ControlPayload[] {
  return ops
    .filter((o) => o.type === 'create' && o.path.startsWith(zpaths.ticketKind('control')))
    .map((o) => decodeJson<{ payload: ControlPayload }>(Buffer.from((o as { data: Uint8Array }).data)).payload);
}

t.test('a leave that commits first makes the concurrent join fail; joining again starts at once', async (t) => {
  const store = await setup(t);
  const first = await gate(store, 1);
  t.same(
    first.successors.map((s) => s.payload),
    [{ op: 'advance', job: 'deploy', build: 1 }],
    'alone: it starts',
  );
  await store.multi(first.ops);

  const join = await gate(store, 2); // reads #1 in the group: would wait for it
  t.match(decodeJson<BuildState>(Buffer.from((join.ops[2] as { data: Uint8Array }).data)).group, {
    waitingFor: { job: 'deploy', build: 1 },
  });
  t.same(join.successors, [], 'waiting: no ticket of its own');
  const leave = await leaveGroupOps(store, (await read(store, 1)).build);
  t.same(advances(leave), [], 'the last member leaves: nobody to start');
  await store.multi(leave);
  await t.rejects(store.multi(join.ops), { code: /^DISTCI_(BAD_VERSION|NO_NODE)$/ }, 'the stale join fails');

  const again = await gate(store, 2);
  t.same(
    again.successors.map((s) => s.payload),
    [{ op: 'advance', job: 'deploy', build: 2 }],
    'alone now: it starts',
  );
});

t.test('a join that commits first makes the concurrent leave fail; leaving again starts the joiner', async (t) => {
  const store = await setup(t);
  await store.multi((await gate(store, 1)).ops);
  const join = await gate(store, 2);
  const stale = await leaveGroupOps(store, (await read(store, 1)).build); // reads #1 alone in the group
  await store.multi(join.ops);
  await t.rejects(store.multi(stale), { code: 'DISTCI_BAD_VERSION' }, 'the stale leave fails');

  t.same((await groupGate(store, await read(store, 2), config, Date.now()))!, { ops: [], successors: [] }, 'waits');
  const leave = await leaveGroupOps(store, (await read(store, 1)).build);
  t.same(advances(leave), [{ op: 'advance', job: 'deploy', build: 2 }], 'the leave starts the next one');
  await store.multi(leave);
  const next = await groupGate(store, await read(store, 2), config, Date.now());
  t.ok(next && 'start' in next && next.start.group?.waitingFor === null, 'the next one starts');
});
