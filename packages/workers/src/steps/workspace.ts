/**
 * Workspaces: the files a step works on, passed between workers through the object store as gzipped
 * tar archives under attempt-scoped keys (`builds/<job>/<n>/workspaces/<step>/<attempt>`): a zombie
 * attempt can write its own key but never the committed one (invariant 4).
 *
 * Extraction refuses anything that could write outside the workspace (invariant 9; DistCI's tar
 * extraction followed symlinks out of its directory): absolute paths, `..` segments, an entry whose
 * path goes *through* a symbolic link (of this archive or already in the workspace), hard links whose
 * target resolves outside the root or through a link, and device/FIFO entries. A refused entry fails
 * the whole restore with DISTCI_BAD_PATH — a workspace with such an entry was not made by distci.
 *
 * Symbolic links are stored and restored as they are, also those pointing outside the workspace: a
 * Python venv's `bin/python -> /usr/bin/python3` must work in the next step, as it would on the machine
 * that made it (that link failed every step needing the venv). Creating a link writes nothing outside
 * the workspace; writing *through* one would, and that stays refused. distci's own readers never
 * follow a link out of the workspace (publish-artifacts and copy-artifacts check `realpath`,
 * `artifact-paths.ts`); the step's own commands can read the link's target anyway.
 */
import { lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
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
  if (entry.type === 'SymbolicLink' && /\0/.test(entry.linkpath ?? '')) return `symlink '${entry.path}' has a NUL`;
  if (entry.type === 'Link') {
    const link = entry.linkpath ?? '';
    if (isAbsolute(link) || !inside(root, resolve(root, link))) {
      return `hard link '${entry.path}' points outside the workspace (${link})`;
    }
  }
  return null;
}

/** The parents of a relative path: `a/b/c` → `a`, `a/b`. */
function parents(path: string): string[] {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Why an entry would be written through a symbolic link, or null: a parent of its path (or, for a hard
 * link, of its target or the target itself being a directory link) is a link of this archive
 * (`links`) or one already on disk (an earlier workspace restored into the same dir).
 */
function throughLink(root: string, links: Set<string>, entry: { path: string; type: string; linkpath?: string }) {
  const check = (path: string): string | null => {
    const all = parents(path);
    // This archive's links first: they may not be on disk yet (the filter runs ahead of the writes).
    const ours = all.find((p) => links.has(p));
    if (ours !== undefined) return ours;
    for (const p of all) {
      try {
        if (lstatSync(resolve(root, p)).isSymbolicLink()) return p;
      } catch {
        break; // missing: nothing below it exists yet either
      }
    }
    return null;
  };
  const via = check(entry.path) ?? (entry.type === 'Link' ? check(`${entry.linkpath ?? ''}/x`) : null);
  return via === null ? null : `entry '${entry.path}' would be written through the symlink '${via}'`;
}

/** Extracts a gzipped tar stream into `dir`, refusing unsafe entries (nothing is written past one). */
export async function extractArchive(source: Readable, dir: string): Promise<void> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  let refused: DistciError | null = null;
  /** Paths of this archive's symbolic links so far (the filter runs before they reach the disk). */
  const links = new Set<string>();
  const extractor = tar.x({
    cwd: root,
    strict: true,
    // Link targets exactly as stored (an absolute one stays absolute); entry paths are checked here.
    preservePaths: true,
    filter: (_path, entry) => {
      if (refused) return false;
      const e = entry as tar.ReadEntry;
      const path = e.path.replace(/^\.\//, '').replace(/\/+$/, '');
      const why =
        refuseEntry(root, { path: e.path, type: e.type, linkpath: e.linkpath }) ??
        throughLink(root, links, { path, type: e.type, linkpath: e.linkpath?.replace(/^\.\//, '') });
      if (!why && links.has(path)) {
        // distci's archives hold each path once; a second entry at a link's path is crafted.
        refused = distciError(
          'DISTCI_BAD_PATH',
          `refused to extract the workspace: entry '${e.path}' repeats a symlink's path`,
        );
        return false;
      }
      if (e.type === 'SymbolicLink') links.add(path);
      if (why) {
        refused = distciError('DISTCI_BAD_PATH', `refused to extract the workspace: ${why}`, {
          hint: 'a workspace holds files, directories and links, and nothing is written through a link',
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
