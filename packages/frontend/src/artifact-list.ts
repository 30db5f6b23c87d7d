/**
 * A build's artifacts as the API serves them: the entries of its manifest (`builds/<job>/<n>/artifacts.json`,
 * written by the publish-artifacts kind: `{v: 1, job, build, artifacts: [{path, size, sha256,
 * contentType, step}]}`), plus — for a retried build — the artifacts of the steps it copied from the
 * build that ran them (`copiedFrom`), each entry naming the build whose object it is.
 *
 * The manifest is read defensively: an entry whose path would not pass `relativePath`, or without a
 * valid size or sha256, is left out (and logged), so a damaged manifest can never make the frontend
 * serve a key outside the build's artifacts.
 */

import type { ArtifactEntry as CommonArtifactEntry } from '@distci/common';
import { type ArtifactsService, type Distci, relativePath } from '@distci/common';
import type { FastifyBaseLogger } from 'fastify';

/** A manifest entry as served: with the build whose `artifacts/<path>` object it is. */
export interface ArtifactEntry extends CommonArtifactEntry {
  /** The build whose `artifacts/<path>` object this is (differs for a retry's copied steps). */
  build: number;
}

const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}(\s*;\s*[a-z0-9_-]{1,32}=[a-z0-9_.-]{1,64})*$/i;

/** The manifest's entries of build `n`, valid ones only; empty when it published nothing. */
export async function readManifestEntries(
  artifacts: ArtifactsService,
  job: string,
  n: number,
  log: FastifyBaseLogger,
): Promise<ArtifactEntry[]> {
  let raw: unknown;
  try {
    raw = await artifacts.manifestJson(job, n);
    if (raw === null) return [];
  } catch (err) {
    if (err instanceof SyntaxError) {
      log.error({ job, build: n }, 'artifact manifest is not JSON; serving no artifacts');
      return [];
    }
    throw err;
  }
  const list = (raw as { artifacts?: unknown } | null)?.artifacts;
  if (!Array.isArray(list)) return [];
  const out: ArtifactEntry[] = [];
  for (const e of list as Array<Record<string, unknown>>) {
    try {
      if (typeof e?.path !== 'string') throw new Error('no path');
      relativePath(e.path, 'artifact path');
      if (!Number.isSafeInteger(e.size) || (e.size as number) < 0) throw new Error('bad size');
      if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) throw new Error('bad sha256');
    } catch (err) {
      log.error({ job, build: n, entry: e, err }, 'artifact manifest entry refused');
      continue;
    }
    out.push({
      path: e.path as string,
      size: e.size as number,
      sha256: e.sha256 as string,
      contentType:
        typeof e.contentType === 'string' && CONTENT_TYPE.test(e.contentType)
          ? e.contentType
          : 'application/octet-stream',
      step: typeof e.step === 'string' ? e.step : '',
      build: n,
    });
  }
  return out;
}

/** Every artifact of a build (its own, then those of copied steps), sorted by path. 404 if no build. */
export async function listArtifacts(
  { builds, artifacts }: Distci,
  job: string,
  n: number,
  log: FastifyBaseLogger,
): Promise<ArtifactEntry[]> {
  const view = await builds.read(job, n);
  const own = await readManifestEntries(artifacts, job, n, log);
  const byPath = new Map(own.map((e) => [e.path, e]));
  const copied = new Map<number, Set<string>>();
  for (const s of view.steps) {
    if (s.copiedFrom !== undefined && (s.artifacts ?? 0) > 0) {
      copied.set(s.copiedFrom, (copied.get(s.copiedFrom) ?? new Set()).add(s.id));
    }
  }
  for (const [from, steps] of copied) {
    for (const e of await readManifestEntries(artifacts, job, from, log)) {
      if (steps.has(e.step) && !byPath.has(e.path)) byPath.set(e.path, e);
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
