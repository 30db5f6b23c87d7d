/**
 * Reads a whole coordination tree through the public interface, for comparing two stores (or one store
 * before and after a restart): path → data (base64), data version, cversion, number of children and
 * whether the node is ephemeral. Times are left out: a replay restores them, a model has none.
 */
import type { CoordinationStore } from '@distci/common';

export interface DumpedNode {
  data: string;
  version: number;
  cversion: number;
  numChildren: number;
  ephemeral: boolean;
}

export async function dumpTree(store: CoordinationStore, root = '/'): Promise<Record<string, DumpedNode>> {
  const out: Record<string, DumpedNode> = {};
  const walk = async (path: string): Promise<void> => {
    const { data, stat } = await store.get(path);
    out[path] = {
      data: data.toString('base64'),
      version: stat.version,
      cversion: stat.cversion,
      numChildren: stat.numChildren,
      ephemeral: stat.ephemeralOwner !== null,
    };
    for (const name of await store.children(path)) await walk(path === '/' ? `/${name}` : `${path}/${name}`);
  };
  await walk(root);
  return out;
}
