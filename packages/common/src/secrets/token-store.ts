/**
 * Scoped API tokens in the object store, one object per token at `tokens/<sha256 of the token>.json`:
 * its role, job patterns, description, who made it and when. The token itself is returned once, when
 * it is made, and stored nowhere: only its sha256 (the key) is kept, like the tokens of
 * `DISTCI_TOKENS_FILE`. A token's `id` is the first 16 hex of that digest: enough to name it in
 * `distci token rm`, useless for guessing the token.
 *
 * Atomicity: one put (create-only) or one delete per call; records never change after they are made.
 * Cost: create is one PUT; list is one LIST and a GET per token; delete is one LIST (by id prefix) and
 * one DELETE.
 */
import { createHash, randomBytes } from 'node:crypto';
import { listAll, readBlob } from '../blob-helpers.js';
import type { BlobStore } from '../blob-store.js';
import { distciError } from '../errors.js';
import { parseRecord } from '../format-version.js';
import { blobKeys } from '../keys.js';
import { assertJobPattern } from './job-pattern.js';

/** What a token may do: read < trigger < admin. */
export type Role = 'read' | 'trigger' | 'admin';
const tokenDigest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export interface TokenInfo {
  id: string;
  role: Role;
  /** Job-name patterns the token is limited to; null: every job. */
  jobs: string[] | null;
  description: string | null;
  createdAt: number;
  createdBy: string | null;
}

export interface TokenRecord extends TokenInfo {
  v: 1;
}

/** 16 hex: 64 bits of the digest, unique among any number of tokens anyone will make. */
const ID_HEX = 16;

export const tokenIdOf = (digestHex: string): string => digestHex.slice(0, ID_HEX);

export async function createToken(
  blob: BlobStore,
  input: { role: Role; jobs?: string[] | null; description?: string | null; by?: string | null; now?: number },
): Promise<{ token: string; info: TokenInfo }> {
  for (const p of input.jobs ?? []) assertJobPattern(p);
  // 32 random bytes: as strong as the sha256 that stands for it; `dci_` says what it is when it leaks.
  const token = `dci_${randomBytes(32).toString('base64url')}`;
  const digest = tokenDigest(token).toString('hex');
  const record: TokenRecord = {
    v: 1,
    id: tokenIdOf(digest),
    role: input.role,
    jobs: input.jobs?.length ? [...input.jobs] : null,
    description: input.description ?? null,
    createdAt: input.now ?? Date.now(),
    createdBy: input.by ?? null,
  };
  await blob.put(blobKeys.token(digest), JSON.stringify(record), {
    ifNoneMatch: '*',
    contentType: 'application/json',
  });
  const { v: _v, ...info } = record;
  return { token, info };
}

/** Every stored token, with the digest (hex) that is its key. */
export async function readTokenRecords(blob: BlobStore): Promise<Array<{ digest: string; record: TokenRecord }>> {
  const out: Array<{ digest: string; record: TokenRecord }> = [];
  for await (const info of listAll(blob, { prefix: blobKeys.tokensPrefix() })) {
    const digest = info.key.slice(blobKeys.tokensPrefix().length).replace(/\.json$/, '');
    if (!/^[0-9a-f]{64}$/.test(digest)) continue;
    let bytes: Buffer;
    try {
      bytes = await readBlob(blob, info.key);
    } catch {
      continue; // deleted between the list and the read: not a token any more
    }
    out.push({ digest, record: parseRecord<TokenRecord>(bytes, `the token ${digest.slice(0, 8)}`) });
  }
  return out;
}

export async function listTokens(blob: BlobStore): Promise<TokenInfo[]> {
  return (await readTokenRecords(blob))
    .map(({ record: { v: _v, ...info } }) => info)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** Removes the token with this id; DISTCI_TOKEN_NOT_FOUND when there is none. Returns its digest. */
export async function deleteToken(blob: BlobStore, id: string): Promise<string> {
  if (!/^[0-9a-f]{16}$/.test(id)) {
    throw distciError('DISTCI_TOKEN_NOT_FOUND', `'${id}' is not a token id`, {
      hint: 'a token id is 16 hex characters; distci token list shows them',
    });
  }
  const page = await blob.list({ prefix: `${blobKeys.tokensPrefix()}${id}`, limit: 2 });
  const found = page.blobs[0];
  if (!found) {
    throw distciError('DISTCI_TOKEN_NOT_FOUND', `there is no token ${id}`, {
      hint: 'distci token list shows the ids',
      details: { id },
    });
  }
  await blob.delete(found.key);
  return found.key.slice(blobKeys.tokensPrefix().length).replace(/\.json$/, '');
}
