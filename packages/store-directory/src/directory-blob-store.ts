/**
 * BlobStore in a local directory: the object store of `distci dev`, with S3's semantics (one
 * conformance suite proves both). Layout and file format: `directory-blob-layout.ts`; listing:
 * `directory-blob-list.ts`; the per-object lock: `directory-blob-lock.ts`; safe file operations:
 * `directory-blob-files.ts`.
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
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, ListOptions, ListPage, PutOptions } from '@distci/common';
import { type DistciError, distciError, isDistciError } from '@distci/common';
import {
  checkListOptions,
  checkPutOptions,
  compileBlobPrefix,
  DEFAULT_CONTENT_TYPE,
  putConflict,
  unquoteEtag,
} from '@distci/common/adapter-support';
import {
  createTemp,
  errno,
  type ObjectFile,
  objectDir,
  openObject,
  prune,
  readListed,
  writeTemp,
} from './directory-blob-files.js';
import { type KeyLocation, locateKey, prefixDirs } from './directory-blob-layout.js';
import { decodeCursor, encodeCursor, listItems } from './directory-blob-list.js';
import { withObjectLock } from './directory-blob-lock.js';

export interface DirectoryBlobOptions {
  readonly type?: 'directory';
  /** The store's directory; created on the first put. */
  readonly dir: string;
  /** Every key is stored under this prefix ('' for none). */
  readonly prefix: string;
}

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
  /** Unexpected file system errors (EACCES, ENOSPC, …) with what to check. */
  const failure = (op: string, key: string, err: unknown): DistciError => {
    if (isDistciError(err)) return err;
    const what = errno(err) ?? (err instanceof Error ? err.message : String(err));
    return distciError('DISTCI_BLOB_STORE_ERROR', `directory blob store: ${op} of '${key}' failed: ${what}`, {
      hint: `check the permissions and free space of ${base} (DISTCI_DATA_DIR)`,
      cause: err,
    });
  };

  const currentEtag = async (loc: KeyLocation): Promise<string | null> => {
    const opened = await openObject(base, loc);
    if (!opened) return null;
    await opened.handle.close();
    return opened.meta.etag;
  };

  const info = (key: string, meta: ObjectFile['meta']): BlobInfo => ({
    key,
    size: meta.size,
    etag: meta.etag,
    lastModified: meta.lastModified,
    contentType: meta.contentType,
  });

  return {
    kind: 'directory',
    where: `directory ${base}`,

    async put(key, body, put: PutOptions = {}) {
      let loc: KeyLocation;
      try {
        loc = locate(key);
        checkPutOptions(key, put);
      } catch (err) {
        // A put owns the caller's stream: read to the end or destroyed, never left open.
        if (body instanceof Readable) body.destroy();
        throw err;
      }
      let created: { dir: string; tmp: string; handle: FileHandle };
      try {
        created = await createTemp(base, loc);
      } catch (err) {
        if (body instanceof Readable) body.destroy();
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
            if (errno(err) === 'EEXIST') throw putConflict(key, put);
            throw err;
          }
        } else {
          await withObjectLock(dir, loc.name, async () => {
            if (put.ifMatch !== undefined && (await currentEtag(loc)) !== unquoteEtag(put.ifMatch)) {
              throw putConflict(key, put);
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
      let opened: ObjectFile | null;
      try {
        opened = await openObject(base, loc);
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
        const opened = await openObject(base, loc);
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
        const dir = await objectDir(base, loc, false);
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

    async containerExists() {
      checkOpen();
      try {
        return (await stat(base)).isDirectory();
      } catch (err) {
        if (errno(err) === 'ENOENT') return false;
        throw failure('stat', '', err);
      }
    },

    async createContainer() {
      checkOpen();
      // mkdir -p answers the first directory it created, undefined when all existed.
      return (await mkdir(base, { recursive: true, mode: 0o700 })) !== undefined;
    },

    async close() {
      closed = true;
      for (const body of bodies) body.destroy();
      bodies.clear();
    },
  };
}
