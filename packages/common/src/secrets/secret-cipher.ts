/**
 * The encryption of secrets at rest: AES-256-GCM (authenticated: a changed ciphertext, a swapped name or
 * a wrong key fails to decrypt instead of yielding garbage) with a 32-byte key from a file
 * (`DISTCI_SECRETS_KEY_FILE`) that every frontend and worker is given, and nothing else.
 *
 * - A fresh 12-byte random IV per encryption (GCM's standard nonce size; random IVs stay safe for
 *   2^32 encryptions under one key, far beyond the number of times anyone sets secrets).
 * - The secret's name is the additional authenticated data: a ciphertext copied to another name does
 *   not decrypt there.
 * - `keyId` (first 8 hex of the key's sha256) travels with each ciphertext, so a process given the
 *   wrong key says so instead of failing with a bare authentication error.
 * - The key file holds the key as 64 hex characters or 44 base64 characters (`openssl rand -hex 32`);
 *   it must not be readable by group or others (mode 0600), like an SSH key.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { distciError } from '../errors.js';

/** 32 bytes: AES-256. */
export const SECRETS_KEY_BYTES = 32;
/** 12 bytes: GCM's standard IV size. */
const IV_BYTES = 12;

export interface SecretsKey {
  readonly key: Buffer;
  /** First 8 hex of the key's sha256: names the key without revealing it. */
  readonly id: string;
}

export interface Sealed {
  alg: 'aes-256-gcm';
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export function secretsKeyOf(key: Buffer): SecretsKey {
  if (key.length !== SECRETS_KEY_BYTES) {
    throw distciError('DISTCI_BAD_OPTION', `a secrets key has ${SECRETS_KEY_BYTES} bytes, not ${key.length}`, {
      hint: 'make one with: openssl rand -hex 32 > key && chmod 600 key',
    });
  }
  return Object.freeze({ key, id: createHash('sha256').update(key).digest('hex').slice(0, 8) });
}

/** Parses a key file's text: 64 hex characters or the base64 of 32 bytes. */
export function parseSecretsKey(text: string): SecretsKey {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return secretsKeyOf(Buffer.from(t, 'hex'));
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) return secretsKeyOf(Buffer.from(t, 'base64'));
  throw distciError('DISTCI_BAD_OPTION', 'the secrets key file holds no key', {
    hint: 'it must hold 32 bytes as 64 hex characters: openssl rand -hex 32 > key && chmod 600 key',
  });
}

/** Reads `DISTCI_SECRETS_KEY_FILE` (at startup, so synchronously); refuses a file others can read. */
export function loadSecretsKey(file: string): SecretsKey {
  let text: string;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) {
      throw distciError('DISTCI_BAD_OPTION', `the secrets key file ${file} can be read by others`, {
        hint: `chmod 600 ${file}`,
      });
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'DISTCI_BAD_OPTION') throw err;
    throw distciError('DISTCI_BAD_OPTION', `DISTCI_SECRETS_KEY_FILE=${file} cannot be read`, {
      hint: (err as Error).message,
    });
  }
  return parseSecretsKey(text);
}

/** The key in `file`, made (32 random bytes, hex, mode 0600) when there is none: `distci dev`. */
export async function loadOrCreateSecretsKey(file: string): Promise<SecretsKey> {
  try {
    await writeFile(file, `${randomBytes(SECRETS_KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await mkdir(dirname(file), { recursive: true });
      return loadOrCreateSecretsKey(file);
    }
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await chmod(file, 0o600); // in case someone loosened it
  }
  return loadSecretsKey(file);
}

export function sealSecret(key: SecretsKey, name: string, value: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(name));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return {
    alg: 'aes-256-gcm',
    keyId: key.id,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

export function openSecret(key: SecretsKey, name: string, sealed: Sealed): string {
  if (sealed.keyId !== key.id) {
    throw distciError(
      'DISTCI_SECRETS_DISABLED',
      `secret '${name}' was stored with key ${sealed.keyId}, not ${key.id}`,
      {
        hint: 'give every frontend and worker the same DISTCI_SECRETS_KEY_FILE, or set the secret again',
      },
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw distciError('DISTCI_SECRETS_DISABLED', `secret '${name}' does not decrypt: it was changed or moved`, {
      hint: 'set it again with distci secret set',
    });
  }
}
