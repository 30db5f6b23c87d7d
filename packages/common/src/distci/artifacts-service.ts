/**
 * `distci.artifacts`: a build's published files and its manifest, by build and path.
 */
import type { Readable } from 'node:stream';
import { readBlob } from '../blob-helpers.js';
import type { BlobBody, BlobInfo, BlobStore } from '../blob-store.js';
import type { ArtifactEntry, ArtifactManifest } from '../builds/artifact-manifest.js';
import { type MergeResult, mergeIntoManifest, readManifest } from '../builds/artifact-manifest-store.js';
import { isDistciError } from '../errors.js';
import { parseRecord } from '../format-version.js';
import { blobKeys } from '../keys.js';

export interface ArtifactsService {
  /** The build's manifest, checked whole (DISTCI_BAD_PATH when something else wrote it); null: none. */
  manifest(job: string, build: number): Promise<ArtifactManifest | null>;
  /** The manifest's JSON as stored, unchecked (the frontend filters entry by entry); null: none. */
  manifestJson(job: string, build: number): Promise<unknown | null>;
  /** Merges entries into the build's manifest (compare-and-set; see `mergeIntoManifest`). */
  publish(job: string, build: number, entries: readonly ArtifactEntry[]): Promise<MergeResult>;
  /** Writes one artifact, create-only: DISTCI_BLOB_CONFLICT when that path was published already. */
  put(job: string, build: number, path: string, body: BlobBody, contentType: string): Promise<void>;
  /** Streams one artifact; DISTCI_BLOB_NOT_FOUND. */
  open(job: string, build: number, path: string): Promise<{ body: Readable; info: BlobInfo }>;
  /** Where an artifact is stored (for messages only). */
  where(job: string, build: number, path: string): string;
}

export function openArtifacts(blob: BlobStore): ArtifactsService {
  return {
    manifest: (job, build) => readManifest(blob, job, build),
    async manifestJson(job, build) {
      let bytes: Buffer;
      try {
        bytes = await readBlob(blob, blobKeys.artifactManifest(job, build));
      } catch (err) {
        if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
        throw err;
      }
      return parseRecord<unknown>(bytes, `the artifact manifest of ${job} #${build}`);
    },
    publish: (job, build, entries) => mergeIntoManifest(blob, job, build, entries),
    async put(job, build, path, body, contentType) {
      await blob.put(blobKeys.artifact(job, build, path), body, { contentType, ifNoneMatch: '*' });
    },
    open: (job, build, path) => blob.get(blobKeys.artifact(job, build, path)),
    where: (job, build, path) => blobKeys.artifact(job, build, path),
  };
}
