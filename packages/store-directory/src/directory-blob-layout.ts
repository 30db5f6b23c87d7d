/**
 * How the directory blob store lays keys out on disk, and the format of one object file.
 *
 * Names. Every key segment is encoded: bytes of [a-z0-9._-] stay, every other byte becomes `%XX`
 * (uppercase hex), so encoded names are plain ASCII, distinct even on case-insensitive file systems
 * (macOS), and immune to Unicode normalization. `~` never occurs in an encoded segment, which leaves it
 * free to mark what a name is:
 * ```
 * <enc>            an object (a regular file)          key `a`   → a
 * <enc>~           a directory of keys below <enc>/    key `a/b` → a~/b
 * <enc>~lock       the object's lock (directory-blob-lock.ts)
 * ~tmp-<random>    a body being written (then renamed or linked into place)
 * ~lk-<random>     a lock being made (then linked into place)
 * ```
 * so the keys `a` and `a/b` coexist, and no temp or lock file can be mistaken for an object.
 *
 * Object file: `body ‖ meta ‖ u32be(meta length) ‖ "DCB1"`, meta = JSON {etag, contentType}. One file per
 * object means one rename publishes body and metadata together (a reader never sees new bytes with old
 * metadata). The trailer (not a header) lets the body stream straight to disk while its md5 is computed.
 */
import type { FileHandle } from 'node:fs/promises';
import { distciError, relativePath } from '@distci/common';

/** 240 bytes: NAME_MAX (255) minus room for the longest suffix we add (`~break`, 6) and some slack. */
const MAX_ENCODED_SEGMENT = 240;
const MAGIC = Buffer.from('DCB1');
/** 4 KiB: meta is an md5 and a ≤255-byte content type; anything larger is not a file we wrote. */
const MAX_META = 4096;
const KEEP = /^[a-z0-9._-]$/;

export function encodeSegment(segment: string, key: string): string {
  let out = '';
  for (const byte of Buffer.from(segment, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += KEEP.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length > MAX_ENCODED_SEGMENT) {
    throw distciError('DISTCI_BAD_PATH', `key '${key}' has a segment too long for the directory blob store`, {
      hint: `keep each "/"-separated segment under ~80 characters (${MAX_ENCODED_SEGMENT} bytes once encoded)`,
    });
  }
  return out;
}

/** The segment an encoded name stands for, or null when the name is not one we could have made. */
export function decodeSegment(name: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch === '%') {
      const hex = name.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      const byte = Number.parseInt(hex, 16);
      // A byte we would have kept as itself was not encoded by us.
      if (KEEP.test(String.fromCharCode(byte))) return null;
      bytes.push(byte);
      i += 2;
    } else if (KEEP.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      return null;
    }
  }
  if (bytes.length === 0) return null;
  const text = Buffer.from(bytes).toString('utf8');
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? text : null;
}

export type EntryKind = 'object' | 'dir';

/** What a directory entry's name says it is, and the key segment it stands for. */
export function classifyName(name: string): { kind: EntryKind; segment: string } | null {
  if (name.endsWith('~')) {
    const segment = decodeSegment(name.slice(0, -1));
    return segment === null ? null : { kind: 'dir', segment };
  }
  const segment = decodeSegment(name);
  return segment === null ? null : { kind: 'object', segment };
}

/** A key's place on disk: the directory names leading to it (relative to the root) and its file name. */
export interface KeyLocation {
  key: string;
  dirs: string[];
  name: string;
}

export function locateKey(key: string): KeyLocation {
  const segments = relativePath(key, 'object key').split('/');
  const last = segments.pop()!;
  return { key, dirs: segments.map((s) => `${encodeSegment(s, key)}~`), name: encodeSegment(last, key) };
}

/** The directory names of a store prefix ('' or segments ending with '/', see compileBlobPrefix). */
export function prefixDirs(prefix: string): string[] {
  return prefix === ''
    ? []
    : prefix
        .slice(0, -1)
        .split('/')
        .map((s) => `${encodeSegment(s, prefix)}~`);
}

export interface ObjectMeta {
  etag: string;
  contentType: string;
}

export function encodeTrailer(meta: ObjectMeta): Buffer {
  const json = Buffer.from(JSON.stringify({ etag: meta.etag, contentType: meta.contentType }), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([json, length, MAGIC]);
}

/** Reads the trailer of an open object file: its metadata, body size and mtime. */
export async function readTrailer(
  handle: FileHandle,
  what: string,
): Promise<ObjectMeta & { size: number; lastModified: Date }> {
  const stat = await handle.stat();
  const corrupt = () =>
    distciError('DISTCI_BLOB_STORE_ERROR', `the file of object '${what}' is not a distci blob`, {
      hint: 'something other than distci wrote into the blob directory; delete the object and put it again',
    });
  if (!stat.isFile() || stat.size < 8) throw corrupt();
  const tail = Buffer.alloc(8);
  await handle.read(tail, 0, 8, stat.size - 8);
  const metaLength = tail.readUInt32BE(0);
  if (!tail.subarray(4).equals(MAGIC) || metaLength > MAX_META || metaLength + 8 > stat.size) throw corrupt();
  const json = Buffer.alloc(metaLength);
  await handle.read(json, 0, metaLength, stat.size - 8 - metaLength);
  let meta: unknown;
  try {
    meta = JSON.parse(json.toString('utf8'));
  } catch {
    throw corrupt();
  }
  const { etag, contentType } = (meta ?? {}) as Partial<ObjectMeta>;
  if (typeof etag !== 'string' || typeof contentType !== 'string') throw corrupt();
  return { etag, contentType, size: stat.size - 8 - metaLength, lastModified: stat.mtime };
}
