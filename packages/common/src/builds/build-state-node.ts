/**
 * The one decoder of a live build's node (`/jobs/<job>/builds/b-<n>`, a `BuildState`): read with its
 * version for a compare-and-set, optionally watched (a step's cancel watch), null when the build has
 * no node (archived, or never existed).
 */

import { orNullOnNoNode } from '../children-or-empty.js';
import type { CoordinationStore, Watcher } from '../coordination-store.js';
import { zpaths } from '../keys.js';
import { type BuildState, decodeJson } from './build-state.js';

/** A `BuildState` from a build node's bytes. */
export function decodeBuildState(data: Buffer): BuildState {
  return decodeJson<BuildState>(data, 'a build state node');
}

/** A live build's state and its node version, or null when it has no node. */
export function readBuildState(
  store: CoordinationStore,
  job: string,
  number: number,
  watcher?: Watcher,
): Promise<{ state: BuildState; version: number } | null> {
  return orNullOnNoNode(async () => {
    const { data, stat } = await store.get(zpaths.build(job, number), watcher);
    return { state: decodeBuildState(data), version: stat.version };
  });
}
