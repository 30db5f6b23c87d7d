/**
 * Job config snapshots are immutable (named by their sha256), so each worker process caches them:
 * a build's many control and step tickets read the config once per process, not once per ticket.
 */
import { type BlobStore, type JobConfig, loadJobVersion } from '@distci/common';

/** 256 configs: a few MiB at most, and far more than a worker's live builds. */
const MAX_ENTRIES = 256;

export interface ConfigCache {
  get(key: string): Promise<JobConfig>;
}

export function createConfigCache(blob: BlobStore): ConfigCache {
  const entries = new Map<string, Promise<JobConfig>>();
  return {
    get(key) {
      let hit = entries.get(key);
      if (hit) {
        entries.delete(key);
        entries.set(key, hit); // most recently used last
        return hit;
      }
      hit = loadJobVersion(blob, key);
      hit.catch(() => entries.delete(key));
      entries.set(key, hit);
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
      return hit;
    },
  };
}
