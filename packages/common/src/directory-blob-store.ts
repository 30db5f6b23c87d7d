/**
 * BlobStore in a local directory: the object store of `distci dev`, with S3's semantics (one
 * conformance suite proves both). Layout and file format: `directory-blob-layout.ts`; listing:
 * `directory-blob-list.ts`; the per-object lock: `directory-blob-lock.ts`.
 *
 * A put writes the body to a temp file in the object's own directory (hashing it: ETag = md5 hex of the
 * body, like an S3 single-part upload), appends the metadata trailer, fdatasync()s it, then publishes it
 * with one atomic directory operation, so a reader sees the old object or the new one, never a mix:
 * - `ifNoneMatch: '*'`: link(2) temp → object. link never replaces: EEXIST is the conflict, decided by
 *   the kernel, atomically across async callers and processes. No lock needed.
 * - `ifMatch` and unconditional puts: under the object's lock, check the current ETag (ifMatch), then
 *   rename(2) temp → object. Unconditional puts and deletes take the lock too, or one could land between
 *   an ifMatch's check and its rename and be silently overwritten.
 * Readers never lock: an open file keeps the version it opened.
 *
 * Containment: keys are validated by `relativePath` and every segment is encoded (no `..`, no `/` in a
 * name); every directory on the way is lstat()ed and refused if it is a symlink; object files are opened
 * with O_NOFOLLOW; listings skip symlinks. So no key reaches outside the store's directory.
 *
 * Not done: directories are not fsync()ed after a rename (a crash can lose the last puts but never
 * tear an object); temp and lock-staging files of a crashed process stay (listings ignore them).
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import {
  bodyFailed,
  checkListOptions,
  checkPutOptions,
  compileBlobPrefix,
  DEFAULT_CONTENT_TYPE,
  toBuffer,
  unquoteEtag,
} from './blob-helpers.js';
import type { BlobBody, BlobInfo, BlobStore, ListOptions, ListPage, PutOptions } from './blob-store.js';
import { encodeTrailer, type KeyLocation, locateKey, prefixDirs, readTrailer } from './directory-blob-layout.js';
import { decodeCursor, encodeCursor, listItems } from './directory-blob-list.js';
import { withObjectLock } from './directory-blob-lock.js';
import { type DistciError, distciError, isDistciError } from './errors.js';

export interface DirectoryBlobOptions {
  readonly type?: 'directory';
  /** The store's directory; created on the first put. */
  readonly dir: string;
  /** Every key is stored under this prefix ('' for none). */
  readonly prefix: string;
}

/** A concurrent delete may prune the object's directory between our mkdir and our temp file: retry. */
const CREATE_ATTEMPTS = 10;
const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

export function createDirectoryBlobStore(options: DirectoryBlobOptions): BlobStore {
  const base = resolve(options.dir);
  const rootDirs = prefixDirs(compileBlobPrefix(options.prefix));
  const bodies = new Set<Readable>();
  let closed = false;

  const checkOpen = (): void => {
    if (closed) throw distciError('DISTCI_STORE_CLOSED', `the directory blob store at ${base} is closed`);
  };
  const locate = (key: string): KeyLocation => {
    checkOpen();
    const loc = locateKey(key);
    return { ...loc, dirs: [...rootDirs, ...loc.dirs] };
  };
  const badPath = (key: string, path: string, why: string): DistciError =>
    distciError('DISTCI_BAD_PATH', `object key '${key}' leads through ${path}, which ${why}`, {
      hint: 'the directory blob store never follows symlinks; remove what was planted in its directory',
    });
  /** Unexpected file system errors (EACCES, ENOSPC, …) with what to check. */
  const failure = (op: string, key: string, err: unknown): DistciError => {
    if (isDistciError(err)) return err;
    const what = errno(err) ?? (err instanceof Error ? err.message : String(err));
    return distciError('DISTCI_BLOB_STORE_ERROR', `directory blob store: ${op} of '${key}' failed: ${what}`, {
      hint: `check the permissions and free space of ${base} (DISTCI_DATA_DIR)`,
      cause: err,
    });
  };

  /** The object's directory, checked to be real directories all the way; null when missing and !create. */
  const objectDir = async (loc: KeyLocation, create: boolean): Promise<string | null> => {
    if (create) await mkdir(base, { recursive: true });
    let dir = base;
    for (const name of loc.dirs) {
      dir = join(dir, name);
      let stat: Stats | null = await lstat(dir).catch((err) => (errno(err) === 'ENOENT' ? null : Promise.reject(err)));
      if (!stat) {
        if (!create) return null;
        await mkdir(dir).catch((err) => (errno(err) === 'EEXIST' ? undefined : Promise.reject(err)));
        stat = await lstat(dir);
      }
      if (stat.isSymbolicLink()) throw badPath(loc.key, dir, 'is a symlink');
      if (!stat.isDirectory()) throw badPath(loc.key, dir, 'is not a directory');
    }
    return dir;
  };

  /** The object's file opened for reading with its trailer read, or null when there is none. */
  const openObject = async (loc: KeyLocation) => {
    const dir = await objectDir(loc, false);
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
  };

  const currentEtag = async (loc: KeyLocation): Promise<string | null> => {
    const opened = await openObject(loc);
    if (!opened) return null;
    await opened.handle.close();
    return opened.meta.etag;
  };

  const conflict = (key: string, put: PutOptions): DistciError =>
    put.ifNoneMatch
      ? distciError('DISTCI_BLOB_CONFLICT', `object '${key}' already exists`, {
          hint: 'it was created by someone else; read it instead, or put without ifNoneMatch to overwrite',
        })
      : distciError('DISTCI_BLOB_CONFLICT', `object '${key}' is not at etag '${put.ifMatch}' any more`, {
          hint: 'it changed or was deleted since you read it; read it again and retry',
        });

  /** Creates a temp file in the object's directory (which then cannot be pruned: it is not empty). */
  const createTemp = async (loc: KeyLocation): Promise<{ dir: string; tmp: string; handle: FileHandle }> => {
    for (let attempt = 1; ; attempt++) {
      const dir = (await objectDir(loc, true))!;
      const tmp = join(dir, `~tmp-${randomUUID()}`);
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
      try {
        return { dir, tmp, handle: await open(tmp, flags, 0o644) };
      } catch (err) {
        if (errno(err) !== 'ENOENT' || attempt >= CREATE_ATTEMPTS) throw err;
      }
    }
  };

  /** Writes body and trailer, syncs and closes; returns the ETag. Body stream failures say so. */
  const writeTemp = async (key: string, handle: FileHandle, body: BlobBody, contentType: string): Promise<string> => {
    const md5 = createHash('md5');
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        const buf =
          typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.length);
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
  };

  const info = (key: string, meta: Awaited<ReturnType<typeof readTrailer>>): BlobInfo => ({
    key,
    size: meta.size,
    etag: meta.etag,
    lastModified: meta.lastModified,
    contentType: meta.contentType,
  });

  return {
    kind: 'directory',

    async put(key, body, put: PutOptions = {}) {
      const loc = locate(key);
      checkPutOptions(key, put);
      let created: { dir: string; tmp: string; handle: FileHandle };
      try {
        created = await createTemp(loc);
      } catch (err) {
        if (!(typeof body === 'string' || body instanceof Uint8Array)) body.destroy();
        throw failure('put', key, err);
      }
      const { dir, tmp, handle } = created;
      try {
        const etag = await writeTemp(key, handle, body, put.contentType ?? DEFAULT_CONTENT_TYPE);
        const path = join(dir, loc.name);
        if (put.ifNoneMatch) {
          try {
            await link(tmp, path);
          } catch (err) {
            if (errno(err) === 'EEXIST') throw conflict(key, put);
            throw err;
          }
        } else {
          await withObjectLock(dir, loc.name, async () => {
            if (put.ifMatch !== undefined && (await currentEtag(loc)) !== unquoteEtag(put.ifMatch)) {
              throw conflict(key, put);
            }
            await rename(tmp, path);
          });
        }
        return { etag };
      } catch (err) {
        throw failure('put', key, err);
      } finally {
        // After rename it is gone; after link, or a failure, it is ours to remove.
        await unlink(tmp).catch(() => {});
      }
    },

    async get(key) {
      const loc = locate(key);
      let opened: Awaited<ReturnType<typeof openObject>>;
      try {
        opened = await openObject(loc);
      } catch (err) {
        throw failure('get', key, err);
      }
      if (!opened) {
        throw distciError('DISTCI_BLOB_NOT_FOUND', `no object at '${key}'`, {
          hint: `nothing was stored at that key in ${base}`,
        });
      }
      const { handle, meta } = opened;
      let body: Readable;
      if (meta.size === 0) {
        await handle.close();
        body = Readable.from([]);
      } else {
        // Closes the handle when the stream ends or is destroyed.
        body = handle.createReadStream({ start: 0, end: meta.size - 1 });
      }
      bodies.add(body);
      body.once('close', () => bodies.delete(body));
      return { body, info: info(key, meta) };
    },

    async head(key) {
      const loc = locate(key);
      try {
        const opened = await openObject(loc);
        if (!opened) return null;
        await opened.handle.close();
        return info(key, opened.meta);
      } catch (err) {
        throw failure('head', key, err);
      }
    },

    async list(list: ListOptions = {}): Promise<ListPage> {
      checkOpen();
      const limit = checkListOptions(list);
      const after = list.cursor ? decodeCursor(list.cursor) : undefined;
      const page: ListPage = { blobs: [], prefixes: [], cursor: null };
      let last: string | undefined;
      let count = 0;
      try {
        for await (const item of listItems(base, rootDirs, {
          prefix: list.prefix ?? '',
          ...(list.delimiter ? { delimiter: list.delimiter } : {}),
          ...(after !== undefined ? { after } : {}),
        })) {
          if (count === limit) {
            page.cursor = encodeCursor(last!);
            break;
          }
          if ('prefix' in item) {
            page.prefixes.push(item.prefix);
            last = item.prefix;
          } else {
            const meta = await readListed(item.path, item.key);
            if (!meta) continue; // deleted since the directory was read
            page.blobs.push({ key: item.key, size: meta.size, etag: meta.etag, lastModified: meta.lastModified });
            last = item.key;
          }
          count++;
        }
      } catch (err) {
        throw failure('list', `${list.prefix ?? ''}*`, err);
      }
      return page;
    },

    async delete(key) {
      const loc = locate(key);
      try {
        const dir = await objectDir(loc, false);
        if (!dir) return;
        await withObjectLock(dir, loc.name, () =>
          unlink(join(dir, loc.name)).catch((err) => (errno(err) === 'ENOENT' ? undefined : Promise.reject(err))),
        );
        await prune(base, loc.dirs.length - rootDirs.length, dir);
      } catch (err) {
        // The directory vanished under us (pruned by another delete): then so did the object.
        if (errno(err) === 'ENOENT') return;
        throw failure('delete', key, err);
      }
    },

    async close() {
      closed = true;
      for (const body of bodies) body.destroy();
      bodies.clear();
    },
  };
}

/** Removes up to `levels` empty key directories, deepest first; stops at the first that is not empty. */
async function prune(base: string, levels: number, dir: string): Promise<void> {
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

async function readListed(path: string, key: string) {
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

async function writeAll(handle: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await handle.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}
