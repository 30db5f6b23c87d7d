/**
 * The artifact manifest of a build (`builds/<job>/<n>/artifacts.json`): every artifact the build
 * published, `{path, size, sha256, contentType, step}`, sorted by path. The frontend serves
 * `GET …/artifacts/<path>` by finding the path here and streaming `blobKeys.artifact(job, n, path)` with
 * the recorded content type; copy-artifacts reads it to know what to copy and what to verify.
 *
 * One manifest per build, although a build may have several publish steps: each merges its entries
 * with a compare-and-set loop (create with `ifNoneMatch: '*'`, replace with `ifMatch: <etag>`), so
 * concurrent publish steps never lose each other's entries. Merging an entry that is already there with
 * the same content changes nothing (no write at all): that is what a resumed or zombie attempt of the
 * same step does. The same path with other content is a conflict, reported to the caller.
 *
 * Moved here from the workers (publish-artifacts) so that only the domain names the manifest's key.
 * Input: the store, the build, entries. Writes: at most one successful put per call (more attempts only
 * when another step merged at the same moment). Failure: the store's errors, thrown.
 */

import { readBlob } from '../blob-helpers.js';
import type { BlobStore } from '../blob-store.js';
import { distciError, isDistciError } from '../errors.js';
import { checkFormat } from '../format-version.js';
import { blobKeys, relativePath } from '../keys.js';
import type { ArtifactEntry, ArtifactManifest } from './artifact-manifest.js';

/** 50: a merge loses the race only to another publish step of the same build; this many is a bug. */
const MAX_MERGE_ROUNDS = 50;

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * A manifest read from the store, checked entry by entry: a manifest distci did not write (a path that
 * would escape the workspace, a malformed hash) is refused whole with DISTCI_BAD_PATH.
 */
export function parseManifest(bytes: Buffer, where: string): ArtifactManifest {
  const bad = (why: string) =>
    distciError('DISTCI_BAD_PATH', `the artifact manifest ${where} is invalid: ${why}; nothing was copied`, {
      hint: 'artifact manifests are written by publish-artifacts; this one was changed by something else',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  const m = checkFormat(raw, `the artifact manifest ${where}`) as Partial<ArtifactManifest> | null;
  if (!m || typeof m !== 'object' || m.v !== 1 || !Array.isArray(m.artifacts)) throw bad('not a v1 manifest');
  for (const [i, e] of m.artifacts.entries()) {
    if (!e || typeof e !== 'object' || typeof e.path !== 'string') throw bad(`artifacts[${i}] has no path`);
    try {
      relativePath(e.path, 'artifact path');
    } catch (err) {
      throw bad(`artifacts[${i}]: ${(err as Error).message}`);
    }
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw bad(`artifacts[${i}] ('${e.path}') has no valid size`);
    if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
      throw bad(`artifacts[${i}] ('${e.path}') has no valid sha256`);
    }
  }
  return m as ArtifactManifest;
}

/** The build's manifest, or null when it published nothing. */
export async function readManifest(blob: BlobStore, job: string, build: number): Promise<ArtifactManifest | null> {
  const key = blobKeys.artifactManifest(job, build);
  try {
    return parseManifest(await readBlob(blob, key), key);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

export interface MergeResult {
  /** Entries of other content already published at the same paths (nothing was merged then). */
  conflicts: Array<{ path: string; theirs: ArtifactEntry }>;
  /** Whether the manifest was written (false: every entry was already there). */
  written: boolean;
}

/** Merges `entries` into the build's manifest (see the header). */
export async function mergeIntoManifest(
  blob: BlobStore,
  job: string,
  build: number,
  entries: readonly ArtifactEntry[],
): Promise<MergeResult> {
  const key = blobKeys.artifactManifest(job, build);
  for (let round = 0; round < MAX_MERGE_ROUNDS; round++) {
    let current: ArtifactManifest = { v: 1, job, build, artifacts: [] };
    let etag: string | null = null;
    try {
      const { body, info } = await blob.get(key);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
      current = parseManifest(Buffer.concat(chunks), key);
      etag = info.etag;
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) throw err;
    }
    const known = new Map(current.artifacts.map((e) => [e.path, e]));
    const conflicts: MergeResult['conflicts'] = [];
    const added: ArtifactEntry[] = [];
    for (const entry of entries) {
      const theirs = known.get(entry.path);
      if (!theirs) added.push(entry);
      else if (theirs.sha256 !== entry.sha256 || theirs.size !== entry.size)
        conflicts.push({ path: entry.path, theirs });
    }
    if (conflicts.length) return { conflicts, written: false };
    if (!added.length) return { conflicts, written: false };
    const next: ArtifactManifest = { ...current, artifacts: [...current.artifacts, ...added].sort(byPath) };
    try {
      await blob.put(key, `${JSON.stringify(next, null, 1)}\n`, {
        contentType: 'application/json',
        ...(etag === null ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
      });
      return { conflicts, written: true };
    } catch (err) {
      if (!isDistciError(err, 'DISTCI_BLOB_CONFLICT')) throw err;
      // Another publish step of this build merged first: read its result and merge again.
    }
  }
  throw distciError('DISTCI_BLOB_CONFLICT', `gave up merging into ${key} after ${MAX_MERGE_ROUNDS} conflicting writes`);
}
