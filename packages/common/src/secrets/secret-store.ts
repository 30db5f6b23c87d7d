/**
 * Secrets in the object store, one object per secret at `secrets/<NAME>.json`: its scope, who set it
 * and when, and its value sealed with AES-256-GCM (`secret-cipher.ts`). The value is never stored,
 * returned or logged in clear: `listSecrets` returns metadata only, and only a worker running a step
 * that asks for the secret opens it (`openSecrets`).
 *
 * Input/Output: see each function. Atomicity: one object put or delete per call (a replace keeps the
 * first `createdAt`: read, then put; two concurrent sets of one name end with one of the two values).
 * Failure: DISTCI_SECRET_NOT_FOUND for a missing name; DISTCI_SECRETS_DISABLED when the key is wrong.
 * Cost: a set or a delete is one GET and one PUT/DELETE; a list is one LIST and a GET per secret.
 */
import { listAll, readBlob } from '../blob-helpers.js';
import type { BlobStore } from '../blob-store.js';
import { distciError, isDistciError } from '../errors.js';
import { parseRecord } from '../format-version.js';
import { assertSecretName, blobKeys } from '../keys.js';
import { inJobScope } from './job-pattern.js';
import { openSecret, type Sealed, type SecretsKey, sealSecret } from './secret-cipher.js';

/** 64 KiB: a token, a key pair or a small config file; larger inputs belong in artifacts. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** What anyone may see of a secret: everything but its value. */
export interface SecretInfo {
  name: string;
  /** Job-name patterns the secret is limited to; null: every job. */
  jobs: string[] | null;
  createdAt: number;
  updatedAt: number;
  createdBy: string | null;
  updatedBy: string | null;
}

interface SecretRecord extends SecretInfo {
  v: 1;
  sealed: Sealed;
}

const infoOf = ({ name, jobs, createdAt, updatedAt, createdBy, updatedBy }: SecretRecord): SecretInfo => ({
  name,
  jobs,
  createdAt,
  updatedAt,
  createdBy,
  updatedBy,
});

async function readRecord(blob: BlobStore, name: string): Promise<SecretRecord | null> {
  try {
    return parseRecord<SecretRecord>(await readBlob(blob, blobKeys.secret(name)), `the secret ${name}`);
  } catch (err) {
    if (isDistciError(err, 'DISTCI_BLOB_NOT_FOUND')) return null;
    throw err;
  }
}

export interface SetSecretInput {
  name: string;
  value: string;
  jobs?: string[] | null;
  by?: string | null;
  now?: number;
}

/** Creates or replaces a secret; returns its metadata and whether it existed. */
export async function setSecret(
  blob: BlobStore,
  key: SecretsKey,
  input: SetSecretInput,
): Promise<{ info: SecretInfo; created: boolean }> {
  const name = assertSecretName(input.name);
  if (input.value === '') {
    throw distciError('DISTCI_BAD_REQUEST', `secret '${name}' has an empty value`, {
      hint: 'an empty secret masks nothing and means nothing; remove it with distci secret rm instead',
    });
  }
  if (Buffer.byteLength(input.value) > MAX_SECRET_BYTES) {
    throw distciError('DISTCI_BAD_REQUEST', `secret '${name}' is larger than ${MAX_SECRET_BYTES} bytes`, {
      hint: 'store a key or token, not a file; pass large inputs as artifacts',
    });
  }
  const now = input.now ?? Date.now();
  const existing = await readRecord(blob, name);
  const record: SecretRecord = {
    v: 1,
    name,
    jobs: input.jobs?.length ? [...input.jobs] : null,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    createdBy: existing ? existing.createdBy : (input.by ?? null),
    updatedBy: input.by ?? null,
    sealed: sealSecret(key, name, input.value),
  };
  await blob.put(blobKeys.secret(name), JSON.stringify(record), { contentType: 'application/json' });
  return { info: infoOf(record), created: existing === null };
}

/** Every secret's metadata, by name. */
export async function listSecrets(blob: BlobStore): Promise<SecretInfo[]> {
  const out: SecretInfo[] = [];
  for await (const info of listAll(blob, { prefix: blobKeys.secretsPrefix() })) {
    const name = info.key.slice(blobKeys.secretsPrefix().length).replace(/\.json$/, '');
    const record = await readRecord(blob, name).catch(() => null);
    if (record) out.push(infoOf(record));
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Removes a secret; DISTCI_SECRET_NOT_FOUND when there is none. */
export async function deleteSecret(blob: BlobStore, name: string): Promise<void> {
  if ((await blob.head(blobKeys.secret(name))) === null) throw notFound(name);
  await blob.delete(blobKeys.secret(name));
}

const notFound = (name: string) =>
  distciError('DISTCI_SECRET_NOT_FOUND', `there is no secret '${name}'`, {
    hint: `set it with: distci secret set ${name}`,
    details: { secret: name },
  });

/**
 * The values of `names` for a step of `job`: for the worker only. A missing secret, or one limited to
 * other jobs, is an error naming it (the step fails rather than run without what it asked for).
 */
export async function openSecrets(
  blob: BlobStore,
  key: SecretsKey,
  job: string,
  names: readonly string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const record = await readRecord(blob, name);
    if (!record) throw notFound(name);
    if (!inJobScope(record.jobs, job)) {
      throw distciError('DISTCI_FORBIDDEN', `secret '${name}' is limited to jobs ${record.jobs!.join(', ')}`, {
        hint: `job '${job}' is not one of them; widen it with: distci secret set ${name} --jobs …`,
        details: { secret: name, job },
      });
    }
    out[name] = openSecret(key, name, record.sealed);
  }
  return out;
}
