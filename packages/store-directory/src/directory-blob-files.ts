/**
 * File operations of the directory blob store: reaching an object's directory without following
 * symlinks, opening an object, writing a body to a temp file, pruning empty directories. The store
 * (`directory-blob-store.ts`) decides when each happens; this module only says how, safely.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BlobBody } from '@distci/common';
import { type DistciError, distciError } from '@distci/common';
import { bodyFailed, toBuffer } from '@distci/common/adapter-support';
import { encodeTrailer, type KeyLocation, readTrailer } from './directory-blob-layout.js';

/** A concurrent delete may prune the object's directory between our mkdir and our temp file: retry. */
const CREATE_ATTEMPTS = 10;

export const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

function badPath(key: string, path: string, why: string): DistciError {
  return distciError('DISTCI_BAD_PATH', `object key '${key}' leads through ${path}, which ${why}`, {
    hint: 'the directory blob store never follows symlinks; remove what was planted in its directory',
  });
}

/**
 * The object's directory below `base`, every step lstat()ed to be a real directory (a symlink is
 * refused, never followed); null when it is missing and `create` is false.
 */
export async function objectDir(base: string, loc: KeyLocation, create: boolean): Promise<string | null> {
  if (create) await mkdir(base, { recursive: true, mode: 0o700 });
  let dir = base;
  for (const name of loc.dirs) {
    dir = join(dir, name);
    let stat: Stats | null = await lstat(dir).catch((err) => (errno(err) === 'ENOENT' ? null : Promise.reject(err)));
    if (!stat) {
      if (!create) return null;
      await mkdir(dir, { mode: 0o700 }).catch((err) => (errno(err) === 'EEXIST' ? undefined : Promise.reject(err)));
      stat = await lstat(dir);
    }
    if (stat.isSymbolicLink()) throw badPath(loc.key, dir, 'is a symlink');
    if (!stat.isDirectory()) throw badPath(loc.key, dir, 'is not a directory');
  }
  return dir;
}

export type ObjectFile = { handle: FileHandle; meta: Awaited<ReturnType<typeof readTrailer>> };

/** The object's file opened for reading (O_NOFOLLOW) with its trailer read, or null when there is none. */
export async function openObject(base: string, loc: KeyLocation): Promise<ObjectFile | null> {
  const dir = await objectDir(base, loc, false);
  if (!dir) return null;
  const path = join(dir, loc.name);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    if (errno(err) === 'ELOOP') throw badPath(loc.key, path, 'is a symlink');
    throw err;
  }
  try {
    return { handle, meta: await readTrailer(handle, loc.key) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The trailer of a file a listing found, or null when it was deleted since. */
export async function readListed(path: string, key: string) {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    return await readTrailer(handle, key);
  } finally {
    await handle.close();
  }
}

/** Creates a temp file in the object's directory (which then cannot be pruned: it is not empty). */
export async function createTemp(
  base: string,
  loc: KeyLocation,
): Promise<{ dir: string; tmp: string; handle: FileHandle }> {
  for (let attempt = 1; ; attempt++) {
    const dir = (await objectDir(base, loc, true))!;
    const tmp = join(dir, `~tmp-${randomUUID()}`);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      return { dir, tmp, handle: await open(tmp, flags, 0o600) }; // the store's own: no other user reads it
    } catch (err) {
      if (errno(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
    }
  }
}

/**
 * Writes body and trailer to the temp file, syncs and closes it; returns the ETag (md5 hex of the body).
 * A failing body stream is destroyed and reported as such (`bodyFailed`).
 */
export async function writeTemp(key: string, handle: FileHandle, body: BlobBody, contentType: string): Promise<string> {
  const md5 = createHash('md5');
  try {
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const buf = toBuffer(body);
      md5.update(buf);
      await writeAll(handle, buf);
    } else {
      const chunks = body[Symbol.asyncIterator]();
      try {
        for (;;) {
          let next: IteratorResult<unknown>;
          try {
            next = await chunks.next();
          } catch (err) {
            throw bodyFailed(key, err);
          }
          if (next.done) break;
          const buf = toBuffer(next.value);
          md5.update(buf);
          await writeAll(handle, buf);
        }
      } catch (err) {
        body.destroy();
        throw err;
      }
    }
    const etag = md5.digest('hex');
    await writeAll(handle, encodeTrailer({ etag, contentType }));
    // Durable before it is visible: a crash right after the rename must not leave an empty object.
    await handle.datasync();
    return etag;
  } finally {
    await handle.close();
  }
}

/** Removes up to `levels` empty key directories, deepest first; stops at the first that is not empty. */
export async function prune(base: string, levels: number, dir: string): Promise<void> {
  let current = dir;
  for (let i = 0; i < levels && current.startsWith(base) && current !== base; i++) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
    current = resolve(current, '..');
  }
}

async function writeAll(handle: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await handle.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}
