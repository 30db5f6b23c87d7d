/**
 * The node tree of the embedded coordination store, with ZooKeeper 3.8's DataTree semantics for every
 * op distci uses, and `apply`, which is ZooKeeper's `multi` (a single op is a multi of one).
 *
 * Inputs: server paths (chroot applied), already validated (`embedded-paths.ts`).
 * Atomicity: `apply` runs the ops one by one on the live tree and records an undo step for each; when an
 * op fails, the undo steps run in reverse and the tree is exactly as before. Nothing runs in between
 * (one thread), so no reader ever sees half a multi. The caller gets `undo` too, to take a whole
 * transaction back when it cannot be logged.
 * Failure: the first failing op's DistciError (with `details.opIndex` for a multi), checked in
 * ZooKeeper's order: create → NoNode (parent), NodeExists, NoChildrenForEphemerals; set/check → NoNode,
 * BadVersion; delete → NoNode, BadVersion, NotEmpty.
 */
import type { CreateMode, NodeStat } from '@distci/common';
import { type DistciError, distciError, type ErrorCode } from '@distci/common';
import { nodeName, parentPath } from './embedded-paths.js';

export interface TreeNode {
  data: Buffer;
  version: number;
  /**
   * Children ever created here: ZooKeeper's *stored* cversion and the counter of sequential names.
   * Deletes do not bump it (so a name is never reused); the cversion clients see is
   * `2 * creates - numChildren` = creates + deletes, as ZooKeeper's `DataNode.copyStat` reports it.
   */
  creates: number;
  ctime: number;
  mtime: number;
  owner: string | null;
  children: Set<string>;
}

/** One op as the tree runs it: a server path, and data as a Buffer the tree may keep. */
export type TreeOp =
  | { type: 'check'; path: string; version: number | undefined }
  | { type: 'create'; path: string; data: Buffer; mode: CreateMode }
  | { type: 'set'; path: string; data: Buffer; version: number | undefined }
  | { type: 'delete'; path: string; version: number | undefined };

export type TreeResult =
  | { type: 'check' }
  | { type: 'create'; path: string }
  | { type: 'set'; stat: NodeStat }
  | { type: 'delete' };

/** What a committed op changed: what the log records and replays, and what triggers watches. */
export type TreeChange =
  | { op: 'create'; path: string; data: Buffer; owner: string | null }
  | { op: 'set'; path: string; data: Buffer }
  | { op: 'delete'; path: string };

export interface ApplyContext {
  /** The session that owns ephemeral nodes created here. */
  sessionId: string;
  /** The transaction's time (ms since the epoch): ctime/mtime of everything it touches. */
  now: number;
  /** True for `multi`: errors then carry `details.opIndex`. */
  multi: boolean;
  /** Formats a server path for messages (the caller's chroot stripped). */
  show(path: string): string;
}

export interface Applied {
  results: TreeResult[];
  changes: TreeChange[];
  /** Takes the whole transaction back (when it could not be logged). */
  undo(): void;
}

/** A node in a snapshot: [path, data (base64), version, creates, ctime, mtime, owner]. */
export type SnapshotNode = [string, string, number, number, number, number, string | null];

/** ZooKeeper's `%010d`: sequential names sort by creation order as strings. */
const sequenceSuffix = (n: number): string => String(n).padStart(10, '0');

/** -1 (or omitted) means "any version", as in ZooKeeper. */
const matches = (expected: number | undefined, actual: number): boolean =>
  expected === undefined || expected === -1 || expected === actual;

export class EmbeddedTree {
  private readonly nodes = new Map<string, TreeNode>();
  private readonly ephemerals = new Map<string, Set<string>>();

  constructor() {
    this.nodes.set('/', {
      data: Buffer.alloc(0),
      version: 0,
      creates: 0,
      ctime: 0,
      mtime: 0,
      owner: null,
      children: new Set(),
    });
  }

  get size(): number {
    return this.nodes.size;
  }

  node(path: string): TreeNode | undefined {
    return this.nodes.get(path);
  }

  stat(node: TreeNode): NodeStat {
    return {
      version: node.version,
      cversion: node.creates * 2 - node.children.size,
      ctime: node.ctime,
      mtime: node.mtime,
      ephemeralOwner: node.owner,
      numChildren: node.children.size,
      dataLength: node.data.length,
    };
  }

  /** Child names, sorted (ZooKeeper returns them in no order; the interface promises sorted). */
  childNames(node: TreeNode): string[] {
    return [...node.children].sort();
  }

  /** Sessions that own at least one ephemeral node. */
  owners(): string[] {
    return [...this.ephemerals.keys()];
  }

  ephemeralsOf(sessionId: string): string[] {
    return [...(this.ephemerals.get(sessionId) ?? [])];
  }

  /** Runs `ops` all-or-nothing; throws the first failing op's error. */
  apply(ops: readonly TreeOp[], ctx: ApplyContext): Applied {
    const undo: Array<() => void> = [];
    const results: TreeResult[] = [];
    const changes: TreeChange[] = [];
    const rollback = () => {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      undo.length = 0;
    };
    for (let i = 0; i < ops.length; i++) {
      try {
        results.push(this.applyOne(ops[i]!, ctx, ctx.multi ? i : undefined, undo, changes));
      } catch (err) {
        rollback();
        throw err;
      }
    }
    return { results, changes, undo: rollback };
  }

  private applyOne(
    op: TreeOp,
    ctx: ApplyContext,
    opIndex: number | undefined,
    undo: Array<() => void>,
    changes: TreeChange[],
  ): TreeResult {
    const fail = (code: ErrorCode, message: string, hint: string, path: string): DistciError =>
      distciError(code, message, {
        hint,
        details: { path: ctx.show(path), ...(opIndex === undefined ? {} : { opIndex }) },
      });
    const show = ctx.show;
    const badVersion = (node: TreeNode, expected: number | undefined) =>
      fail(
        'DISTCI_BAD_VERSION',
        `'${show(op.path)}' is at version ${node.version}, not ${expected}`,
        're-read the node and decide again',
        op.path,
      );
    const noNode = () =>
      fail('DISTCI_NO_NODE', `no node at '${show(op.path)}'`, 'check the path, or create the node first', op.path);

    switch (op.type) {
      case 'create': {
        if (op.path === '/') {
          throw fail('DISTCI_NODE_EXISTS', `a node already exists at '${show(op.path)}'`, 'pick another path', op.path);
        }
        const parentP = parentPath(op.path);
        const parent = this.nodes.get(parentP);
        if (!parent) {
          throw fail(
            'DISTCI_NO_NODE',
            `cannot create '${show(op.path)}': its parent '${show(parentP)}' does not exist`,
            'create the parent first (ensurePath)',
            op.path,
          );
        }
        const sequential = op.mode === 'persistent-sequential' || op.mode === 'ephemeral-sequential';
        const path = sequential ? op.path + sequenceSuffix(parent.creates) : op.path;
        if (this.nodes.has(path)) {
          throw fail('DISTCI_NODE_EXISTS', `a node already exists at '${show(path)}'`, 'pick another path', path);
        }
        if (parent.owner !== null) {
          throw fail(
            'DISTCI_NO_CHILDREN_FOR_EPHEMERALS',
            `cannot create '${show(path)}': its parent '${show(parentP)}' is ephemeral`,
            'create children under persistent nodes only',
            path,
          );
        }
        const owner = op.mode === 'ephemeral' || op.mode === 'ephemeral-sequential' ? ctx.sessionId : null;
        const node = this.insert(path, op.data, owner, ctx.now);
        undo.push(() => {
          this.remove(path, node);
          parent.creates--;
        });
        changes.push({ op: 'create', path, data: op.data, owner });
        return { type: 'create', path };
      }
      case 'set': {
        const node = this.nodes.get(op.path);
        if (!node) throw noNode();
        if (!matches(op.version, node.version)) throw badVersion(node, op.version);
        const { data, version, mtime } = node;
        undo.push(() => {
          node.data = data;
          node.version = version;
          node.mtime = mtime;
        });
        this.setData(node, op.data, ctx.now);
        changes.push({ op: 'set', path: op.path, data: op.data });
        return { type: 'set', stat: this.stat(node) };
      }
      case 'delete': {
        if (op.path === '/') {
          throw fail('DISTCI_BAD_PATH', `cannot delete '${show(op.path)}'`, 'the root is never deleted', op.path);
        }
        const node = this.nodes.get(op.path);
        if (!node) throw noNode();
        if (!matches(op.version, node.version)) throw badVersion(node, op.version);
        if (node.children.size > 0) {
          throw fail(
            'DISTCI_NOT_EMPTY',
            `cannot delete '${show(op.path)}': it has ${node.children.size} children`,
            'delete its children first',
            op.path,
          );
        }
        this.remove(op.path, node);
        undo.push(() => this.reinsert(op.path, node));
        changes.push({ op: 'delete', path: op.path });
        return { type: 'delete' };
      }
      case 'check': {
        const node = this.nodes.get(op.path);
        if (!node) throw noNode();
        if (!matches(op.version, node.version)) throw badVersion(node, op.version);
        return { type: 'check' };
      }
    }
  }

  /** Re-applies a logged change without checks (recovery); throws when the log contradicts the tree. */
  replay(change: TreeChange, time: number): void {
    const corrupt = (why: string) =>
      distciError('DISTCI_COORDINATION_ERROR', `the embedded store's log does not replay: ${why}`, {
        hint: 'the data dir is damaged; restore it from a backup or start with an empty one',
        details: { change: { op: change.op, path: change.path } },
      });
    const node = this.nodes.get(change.path);
    switch (change.op) {
      case 'create':
        if (node || change.path === '/') throw corrupt(`'${change.path}' already exists`);
        if (!this.nodes.has(parentPath(change.path))) throw corrupt(`the parent of '${change.path}' is missing`);
        this.insert(change.path, change.data, change.owner, time);
        return;
      case 'set':
        if (!node) throw corrupt(`'${change.path}' is missing`);
        this.setData(node, change.data, time);
        return;
      case 'delete':
        if (!node || change.path === '/') throw corrupt(`'${change.path}' is missing`);
        this.remove(change.path, node);
        return;
    }
  }

  /** Every node, each after its parent (Map order: a node is always inserted after its parent). */
  exportNodes(): SnapshotNode[] {
    const out: SnapshotNode[] = [];
    for (const [path, n] of this.nodes) {
      out.push([path, n.data.toString('base64'), n.version, n.creates, n.ctime, n.mtime, n.owner]);
    }
    return out;
  }

  static fromNodes(list: readonly SnapshotNode[]): EmbeddedTree {
    const tree = new EmbeddedTree();
    for (const [path, data, version, creates, ctime, mtime, owner] of list) {
      const bytes = Buffer.from(data, 'base64');
      const node =
        path === '/' ? tree.nodes.get('/')! : tree.nodes.has(path) ? undefined : tree.importNode(path, bytes, owner);
      if (!node) {
        throw distciError('DISTCI_COORDINATION_ERROR', `the embedded store's snapshot lists '${path}' twice`, {
          hint: 'the data dir is damaged; restore it from a backup or start with an empty one',
        });
      }
      Object.assign(node, { data: bytes, version, creates, ctime, mtime });
    }
    return tree;
  }

  private importNode(path: string, data: Buffer, owner: string | null): TreeNode {
    if (!this.nodes.has(parentPath(path))) {
      throw distciError(
        'DISTCI_COORDINATION_ERROR',
        `the embedded store's snapshot lists '${path}' before its parent`,
        {
          hint: 'the data dir is damaged; restore it from a backup or start with an empty one',
        },
      );
    }
    const node = this.insert(path, data, owner, 0);
    this.nodes.get(parentPath(path))!.creates--; // the snapshot carries the parent's own count
    return node;
  }

  private setData(node: TreeNode, data: Buffer, now: number): void {
    node.data = data;
    // ZooKeeper skips -1 when the int wraps (ZOOKEEPER-4743): -1 means "any version".
    node.version = node.version + 1 === -1 ? 0 : (node.version + 1) | 0;
    node.mtime = now;
  }

  private insert(path: string, data: Buffer, owner: string | null, now: number): TreeNode {
    const parent = this.nodes.get(parentPath(path))!;
    const node: TreeNode = { data, version: 0, creates: 0, ctime: now, mtime: now, owner, children: new Set() };
    this.nodes.set(path, node);
    parent.children.add(nodeName(path));
    parent.creates++;
    if (owner !== null) this.indexEphemeral(owner, path);
    return node;
  }

  private reinsert(path: string, node: TreeNode): void {
    this.nodes.set(path, node);
    this.nodes.get(parentPath(path))!.children.add(nodeName(path));
    if (node.owner !== null) this.indexEphemeral(node.owner, path);
  }

  private remove(path: string, node: TreeNode): void {
    this.nodes.delete(path);
    this.nodes.get(parentPath(path))?.children.delete(nodeName(path));
    if (node.owner !== null) {
      const set = this.ephemerals.get(node.owner);
      set?.delete(path);
      if (set?.size === 0) this.ephemerals.delete(node.owner);
    }
  }

  private indexEphemeral(owner: string, path: string): void {
    let set = this.ephemerals.get(owner);
    if (!set) {
      set = new Set();
      this.ephemerals.set(owner, set);
    }
    set.add(path);
  }
}
