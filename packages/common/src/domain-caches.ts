/**
 * What the domain layer remembers about one storage, owned by the `Distci` object opened over it
 * (`openDistci`): one set per opened object, dropped with it — never module-level, so two stores in
 * one process (tests, `distci dev`) never share an entry. Functions taking `caches?` work without
 * them too (then they remember nothing: correct, one more read per call).
 */
import type { BuildRecord } from './builds/build-record.js';

export interface DomainCaches {
  /**
   * Coordination parents known to exist: queue and claim parents and `/jobs/<job>/builds` are never
   * deleted, so each is ensured once per process instead of once per post or trigger.
   */
  readonly ensured: Set<string>;
  /**
   * Per job, the tail of this process's triggers: they run one after the other (see `triggerBuild`:
   * N triggers at once would otherwise cost ~N²/2 failed write transactions).
   */
  readonly triggerQueues: Map<string, Promise<unknown>>;
  /** Archived build records read already, by `<job>/<n>`, least recently used first (see `readBuild`). */
  readonly archived: Map<string, { record: BuildRecord; until: number }>;
}

export function createDomainCaches(): DomainCaches {
  return { ensured: new Set(), triggerQueues: new Map(), archived: new Map() };
}
