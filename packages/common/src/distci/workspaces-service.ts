/**
 * `distci.workspaces`: the gzipped tar archives steps leave for their dependents, and the checkout
 * cache (content-addressed by repository and commit). Keys are made here; the worker's tar code moves
 * bytes to and from them (`get`/`put`) without knowing their form.
 */
import type { Readable } from 'node:stream';
import type { BlobBody, BlobInfo, BlobStore, PutOptions } from '../blob-store.js';
import type { StepPayload } from '../builds/step-ticket.js';
import { blobKeys } from '../keys.js';

/** What the worker's archive code needs of the object store: bytes in and out by a domain-made key. */
export interface WorkspaceBlobs {
  get(key: string): Promise<{ body: Readable; info: BlobInfo }>;
  put(key: string, body: BlobBody, options?: PutOptions): Promise<{ etag: string }>;
}

export interface WorkspacesService extends WorkspaceBlobs {
  /** Where this attempt of a step stores the workspace it leaves. */
  key(payload: StepPayload, attempt: number): string;
  /** A checkout's cache entry: `repository` is the sha256 of its normalised URL, `commit` a full id. */
  checkoutKey(repository: string, commit: string): string;
  /** Whether an archive is stored at `key` (one HEAD). */
  has(key: string): Promise<boolean>;
}

export function openWorkspaces(blob: BlobStore): WorkspacesService {
  return {
    key: (payload, attempt) => blobKeys.workspace(payload.job, payload.build, payload.step, attempt),
    checkoutKey: (repository, commit) => blobKeys.checkoutCache(repository, commit),
    has: async (key) => (await blob.head(key)) !== null,
    get: (key) => blob.get(key),
    put: (key, body, options) => blob.put(key, body, options),
  };
}
