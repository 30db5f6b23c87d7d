/**
 * The API token of a one-machine install: made on the first `distci dev` and kept in
 * `<data dir>/token` (mode 0600, readable by its owner only), so it survives restarts and client
 * commands run in the same directory find it without `--token`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const TOKEN_FILE = 'token';

export function tokenPath(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

/** Reads the token kept in `dataDir`, or makes one (32 random bytes, base64url) and keeps it. */
export async function loadOrCreateToken(dataDir: string): Promise<{ token: string; created: boolean }> {
  const path = tokenPath(dataDir);
  const existing = await readToken(dataDir);
  if (existing) {
    await chmod(path, 0o600); // in case someone loosened it
    return { token: existing, created: false };
  }
  await mkdir(dataDir, { recursive: true });
  const token = `dci_${randomBytes(32).toString('base64url')}`;
  // `wx`: never overwrite a token another process wrote in between; read theirs instead.
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { token: (await readToken(dataDir))!, created: false };
  }
  return { token, created: true };
}

/** The token kept in `dataDir`, or null when there is none. */
export async function readToken(dataDir: string): Promise<string | null> {
  try {
    const text = (await readFile(tokenPath(dataDir), 'utf8')).trim();
    return text === '' ? null : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
