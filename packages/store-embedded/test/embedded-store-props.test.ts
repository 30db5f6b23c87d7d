/**
 * Property tests of the embedded coordination store against a tiny reference model of ZooKeeper's
 * semantics (written separately from embedded-tree.ts: a multi here runs on a copy of the map and is
 * kept only when every op passed, instead of an undo log):
 * 1. random sequences of create / set / delete / multi with random versions give the same results and
 *    the same errors (code and opIndex) as the model, a failed multi changes nothing, and the final
 *    trees are equal;
 * 2. with a data dir and small snapshot bounds, a restart replays exactly the tree that was there.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { CoordinationStore, CreateMode, Op, OpResult } from '@distci/common';
import { type DumpedNode, dumpTree } from '@distci/testkit';
import fc from 'fast-check';
import t from 'tap';
import { createEmbeddedServer } from '../src/embedded-store.js';

// ---- the model -------------------------------------------------------------------------------------

interface ModelNode {
  data: string;
  version: number;
  /** Children ever created: the sequential counter. */
  creates: number;
  children: number;
  ephemeral: boolean;
}

type ModelTree = Map<string, ModelNode>;
type Outcome = { ok: unknown[] } | { code: string; opIndex?: number };

const parentOf = (p: string) => (p.lastIndexOf('/') === 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
const anyVersion = (v: number | undefined) => v === undefined || v === -1;

function modelOp(tree: ModelTree, op: Op): unknown {
  const fail = (code: string) => {
    throw { code };
  };
  const node = tree.get(op.path);
  switch (op.type) {
    case 'create': {
      const parent = tree.get(parentOf(op.path));
      if (!parent) return fail('DISTCI_NO_NODE');
      const mode = op.mode ?? 'persistent';
      const path = mode.endsWith('sequential') ? op.path + String(parent.creates).padStart(10, '0') : op.path;
      if (tree.has(path)) return fail('DISTCI_NODE_EXISTS');
      if (parent.ephemeral) return fail('DISTCI_NO_CHILDREN_FOR_EPHEMERALS');
      tree.set(parentOf(op.path), { ...parent, creates: parent.creates + 1, children: parent.children + 1 });
      const data = Buffer.from(op.data ?? []).toString();
      tree.set(path, { data, version: 0, creates: 0, children: 0, ephemeral: mode.startsWith('ephemeral') });
      return { type: 'create', path };
    }
    case 'set':
      if (!node) return fail('DISTCI_NO_NODE');
      if (!anyVersion(op.version) && op.version !== node.version) return fail('DISTCI_BAD_VERSION');
      tree.set(op.path, { ...node, data: Buffer.from(op.data).toString(), version: node.version + 1 });
      return { type: 'set', version: node.version + 1 };
    case 'delete': {
      if (!node) return fail('DISTCI_NO_NODE');
      if (!anyVersion(op.version) && op.version !== node.version) return fail('DISTCI_BAD_VERSION');
      if (node.children > 0) return fail('DISTCI_NOT_EMPTY');
      tree.delete(op.path);
      const parent = tree.get(parentOf(op.path))!;
      tree.set(parentOf(op.path), { ...parent, children: parent.children - 1 });
      return { type: 'delete' };
    }
    case 'check':
      if (!node) return fail('DISTCI_NO_NODE');
      if (!anyVersion(op.version) && op.version !== node.version) return fail('DISTCI_BAD_VERSION');
      return { type: 'check' };
  }
}

/** Runs ops on a copy; the copy replaces the tree only when all of them pass. */
function modelMulti(tree: ModelTree, ops: readonly Op[], multi: boolean): Outcome {
  const copy: ModelTree = new Map(tree);
  const results: unknown[] = [];
  for (let i = 0; i < ops.length; i++) {
    try {
      results.push(modelOp(copy, ops[i]!));
    } catch (e) {
      return multi ? { code: (e as { code: string }).code, opIndex: i } : { code: (e as { code: string }).code };
    }
  }
  tree.clear();
  for (const [k, v] of copy) tree.set(k, v);
  return { ok: results };
}

function modelDump(tree: ModelTree): Record<string, DumpedNode> {
  const out: Record<string, DumpedNode> = {};
  for (const path of [...tree.keys()].sort()) {
    const n = tree.get(path)!;
    out[path] = {
      data: Buffer.from(n.data).toString('base64'),
      version: n.version,
      cversion: 2 * n.creates - n.children,
      numChildren: n.children,
      ephemeral: n.ephemeral,
    };
  }
  return out;
}

/** The model after its session closed: ephemeral nodes deleted (they never have children). */
function withoutEphemerals(tree: ModelTree): ModelTree {
  const out: ModelTree = new Map(tree);
  for (const [path, n] of tree) {
    if (!n.ephemeral) continue;
    out.delete(path);
    const parent = out.get(parentOf(path))!;
    out.set(parentOf(path), { ...parent, children: parent.children - 1 });
  }
  return out;
}

// ---- commands ---------------------------------------------------------------------------------------

/** An op with its path still to resolve: `target` indexes the paths known so far. */
type OpSpec =
  | { type: 'create'; parent: number; name: string; data: string; mode: CreateMode }
  | { type: 'set'; target: number; data: string; version: number | undefined }
  | { type: 'delete'; target: number; version: number | undefined }
  | { type: 'check'; target: number; version: number };

type Command = { kind: 'single'; op: OpSpec } | { kind: 'multi'; ops: OpSpec[] };

const versionArb = fc.constantFrom(undefined, -1, 0, 1, 2);
const dataArb = fc.constantFrom('', 'a', 'bb', 'ccc');
const opArb: fc.Arbitrary<OpSpec> = fc.oneof(
  fc.record({
    type: fc.constant('create' as const),
    parent: fc.nat(),
    name: fc.constantFrom('a', 'b', 'x', 'y', 's-'),
    data: dataArb,
    mode: fc.constantFrom<CreateMode>('persistent', 'ephemeral', 'persistent-sequential', 'ephemeral-sequential'),
  }),
  fc.record({ type: fc.constant('set' as const), target: fc.nat(), data: dataArb, version: versionArb }),
  fc.record({ type: fc.constant('delete' as const), target: fc.nat(), version: versionArb }),
  fc.record({ type: fc.constant('check' as const), target: fc.nat(), version: fc.constantFrom(-1, 0, 1, 2) }),
);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: opArb.map((op): Command => ({ kind: 'single', op })), weight: 3 },
  {
    arbitrary: fc.array(opArb, { minLength: 1, maxLength: 4 }).map((ops): Command => ({ kind: 'multi', ops })),
    weight: 1,
  },
);

/** Paths an op may name: a few fixed ones, then every path created so far (deleted ones too). */
function resolve(spec: OpSpec, known: string[]): Op {
  const pick = (i: number) => known[i % known.length]!;
  switch (spec.type) {
    case 'create': {
      const parent = ['/', ...known][spec.parent % (known.length + 1)]!;
      const path = `${parent === '/' ? '' : parent}/${spec.name}`;
      return { type: 'create', path, data: Buffer.from(spec.data), mode: spec.mode };
    }
    case 'set':
      return { type: 'set', path: pick(spec.target), data: Buffer.from(spec.data), version: spec.version };
    case 'delete':
      return { type: 'delete', path: pick(spec.target), version: spec.version };
    case 'check':
      return { type: 'check', path: pick(spec.target), version: spec.version };
  }
}

/** The part of a store result the model predicts. */
function shape(r: OpResult | string | undefined): unknown {
  if (r === undefined) return { type: 'delete' };
  if (typeof r === 'string') return { type: 'create', path: r };
  return r.type === 'set' ? { type: 'set', version: r.stat.version } : r;
}

async function runOnStore(store: CoordinationStore, ops: Op[], multi: boolean): Promise<Outcome> {
  try {
    if (multi) return { ok: (await store.multi(ops)).map(shape) };
    const op = ops[0]!;
    switch (op.type) {
      case 'create':
        return { ok: [shape(await store.create(op.path, op.data, op.mode))] };
      case 'set':
        return { ok: [shape({ type: 'set', stat: await store.set(op.path, op.data, op.version) })] };
      case 'delete':
        await store.delete(op.path, op.version);
        return { ok: [shape(undefined)] };
      case 'check':
        throw new Error('a single check runs as a multi');
    }
  } catch (err) {
    const e = err as { code?: string; details?: { opIndex?: number } };
    if (typeof e.code !== 'string') throw err;
    return multi && e.details?.opIndex !== undefined ? { code: e.code, opIndex: e.details.opIndex } : { code: e.code };
  }
}

/** What the runs covered: outcomes by error code (`ok` for success), failed multis checked unchanged. */
const seen = new Map<string, number>();
const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);

/** Runs `commands` on the store and the model side by side; throws at the first disagreement. */
async function runBoth(store: CoordinationStore, model: ModelTree, commands: Command[]): Promise<void> {
  const known = ['/a', '/b', '/a/x'];
  // Two nodes to start from, so that most ops reach past NoNode.
  const prelude: Command[] = [0, 1].map((i) => ({
    kind: 'single',
    op: { type: 'create', parent: 0, name: 'ab'[i]!, data: '', mode: 'persistent' },
  }));
  for (const [step, command] of [...prelude, ...commands].entries()) {
    const specs = command.kind === 'single' ? [command.op] : command.ops;
    const ops = specs.map((s) => resolve(s, known));
    const multi = command.kind === 'multi' || ops[0]!.type === 'check';
    const before = multi ? await dumpTree(store) : null;
    const got = await runOnStore(store, ops, multi);
    const want = modelMulti(model, ops, multi);
    const where = `step ${step}: ${JSON.stringify(ops.map((o) => [o.type, o.path, 'version' in o ? o.version : '']))}`;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(
        `store and model disagree at ${where}: store ${JSON.stringify(got)}, model ${JSON.stringify(want)}`,
      );
    }
    count('ok' in got ? (multi ? 'multi ok' : 'ok') : multi ? `multi ${got.code}` : got.code);
    if ('ok' in got) {
      for (const r of got.ok as Array<{ type: string; path?: string }>) {
        if (r.type === 'create' && r.path && !known.includes(r.path)) known.push(r.path);
      }
    } else if (before) {
      const after = await dumpTree(store);
      if (JSON.stringify(after) !== JSON.stringify(before))
        throw new Error(`a failed multi changed the tree at ${where}`);
    }
  }
}

const sortKeys = (o: Record<string, DumpedNode>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

t.test('random ops and multis agree with the reference model; a failed multi changes nothing', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 60, size: 'medium' }), async (commands) => {
      const server = createEmbeddedServer();
      try {
        const store = await server.connect();
        const model: ModelTree = new Map([['/', { data: '', version: 0, creates: 0, children: 0, ephemeral: false }]]);
        await runBoth(store, model, commands);
        const got = sortKeys(await dumpTree(store));
        if (JSON.stringify(got) !== JSON.stringify(modelDump(model))) {
          t.strictSame(got, modelDump(model), 'final trees');
          throw new Error('the final trees differ');
        }
      } finally {
        await server.close();
      }
    }),
    { numRuns: 200 },
  );
  // Every outcome the model knows happened, so the agreement above means something.
  const codes = ['BAD_VERSION', 'NO_NODE', 'NODE_EXISTS', 'NOT_EMPTY', 'NO_CHILDREN_FOR_EPHEMERALS'];
  for (const key of ['ok', 'multi ok', ...codes.map((c) => `DISTCI_${c}`), ...codes.map((c) => `multi DISTCI_${c}`)]) {
    t.ok((seen.get(key) ?? 0) > 0, `${key}: ${seen.get(key) ?? 0} times`);
  }
});

t.test('a restart replays exactly the tree that was there (snapshots at random bounds)', async (t) => {
  const root = t.testdir();
  await fc.assert(
    fc.asyncProperty(
      fc.array(commandArb, { minLength: 1, maxLength: 80, size: 'medium' }),
      fc.integer({ min: 1, max: 30 }),
      async (commands, snapshotEveryTxns) => {
        const dataDir = mkdtempSync(join(root, 'run-'));
        const server = createEmbeddedServer({ dataDir, snapshotEveryTxns });
        const model: ModelTree = new Map([['/', { data: '', version: 0, creates: 0, children: 0, ephemeral: false }]]);
        let before: Record<string, DumpedNode>;
        try {
          const store = await server.connect();
          await runBoth(store, model, commands);
          await store.close(); // its ephemeral nodes go, as they would with the process
          before = sortKeys(await dumpTree(await server.connect()));
        } finally {
          await server.close();
        }
        const again = createEmbeddedServer({ dataDir });
        try {
          const after = sortKeys(await dumpTree(await again.connect()));
          const expected = modelDump(withoutEphemerals(model));
          if (JSON.stringify(after) !== JSON.stringify(before) || JSON.stringify(after) !== JSON.stringify(expected)) {
            t.strictSame(after, before, 'replayed = before the restart');
            t.strictSame(after, expected, 'replayed = the model');
            throw new Error('the replayed tree differs');
          }
        } finally {
          await again.close();
        }
      },
    ),
    { numRuns: 100 },
  );
});
