/**
 * Workspaces: the files a step works on, passed between workers through the object store as gzipped
 * tar archives under attempt-scoped keys (`builds/<job>/<n>/workspaces/<step>/<attempt>`): a zombie
 * attempt can write its own key but never the committed one (invariant 4).
 *
 * Extraction refuses anything that could write outside the workspace (invariant 9; DistCI's tar
 * extraction followed symlinks out of its directory): absolute paths, `..` segments, symbolic and
 * hard links whose target resolves outside the root, and device/FIFO entries. A refused entry fails the
 * whole restore with DISTCI_BAD_PATH — a workspace with such an entry was not made by distci.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DistciError, distciError, type WorkspaceBlobs } from '@distci/common';
import * as tar from 'tar';

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Why an archive entry may not be extracted under `root`, or null when it may. */
export function refuseEntry(root: string, entry: { path: string; type: string; linkpath?: string }): string | null {
  const path = entry.path.replace(/\/+$/, '');
  if (!ALLOWED_TYPES.has(entry.type)) return `entry '${entry.path}' is a ${entry.type}`;
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return `entry '${entry.path}' has an absolute path`;
  if (path.split(/[\\/]/).includes('..')) return `entry '${entry.path}' has a '..' segment`;
  const target = resolve(root, path);
  if (!inside(root, target)) return `entry '${entry.path}' is outside the workspace`;
  if (entry.type === 'SymbolicLink') {
    const link = entry.linkpath ?? '';
    if (isAbsolute(link) || !inside(root, resolve(dirname(target), link))) {
      return `symlink '${entry.path}' points outside the workspace (${link})`;
    }
  }
  if (entry.type === 'Link') {
    const link = entry.linkpath ?? '';
    if (isAbsolute(link) || !inside(root, resolve(root, link))) {
      return `hard link '${entry.path}' points outside the workspace (${link})`;
    }
  }
  return null;
}

/** Extracts a gzipped tar stream into `dir`, refusing unsafe entries (nothing is written past one). */
export async function extractArchive(source: Readable, dir: string): Promise<void> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  let refused: DistciError | null = null;
  const extractor = tar.x({
    cwd: root,
    strict: true,
    preservePaths: false,
    filter: (_path, entry) => {
      if (refused) return false;
      const e = entry as tar.ReadEntry;
      const why = refuseEntry(root, { path: e.path, type: e.type, linkpath: e.linkpath });
      if (why) {
        refused = distciError('DISTCI_BAD_PATH', `refused to extract the workspace: ${why}`, {
          hint: 'workspaces may only hold files, directories and links inside the workspace',
        });
        return false;
      }
      return true;
    },
  });
  await pipeline(source, extractor);
  if (refused) throw refused;
}

/** Restores the workspaces `keys` into `dir`, in order (later ones overwrite earlier files). */
export async function restoreWorkspaces(blob: WorkspaceBlobs, keys: readonly string[], dir: string): Promise<void> {
  for (const key of keys) {
    const { body } = await blob.get(key);
    await extractArchive(body, dir);
  }
}

/** Archives `dir` (gzipped tar, relative paths, links kept as links) to `key`; returns its size. */
export async function storeWorkspace(blob: WorkspaceBlobs, dir: string, key: string): Promise<number> {
  let size = 0;
  // Counted in a transform, not with a 'data' listener: a listener switches the stream to flowing mode,
  // and the chunks it emits before (or between reads of) the store's async iterator are lost to it —
  // archives of more than a few files came out truncated and failed to extract.
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      done(null, chunk);
    },
  });
  const packer = tar.c({ cwd: dir, gzip: { level: 1 }, portable: true, follow: false }, ['.']);
  const upload = blob.put(key, counter, { contentType: 'application/gzip' });
  await Promise.all([pipeline(packer as unknown as Readable, counter), upload]);
  return size;
}
