/**
 * Paths in and out of a workspace for the artifact kinds, refusing anything that could reach outside it
 * (invariant 9; DistCI let a workspace write outside its directory).
 *
 * Globs (`paths` of publish-artifacts and copy-artifacts) mean the same in both kinds:
 * - they match files, never directories (`dist/**` for a whole directory);
 * - `*` and `**` do not match names starting with a dot (no `.env` or `.git/…` by surprise); a pattern
 *   that names a dot explicitly (`.env`, `**\/.*`) does;
 * - a pattern starting with `!` excludes what it matches;
 * - a pattern may not be absolute or contain a `..` segment: it could only name something outside.
 * Publishing never follows a symbolic link (a link is not an artifact, wherever it points), and every
 * match is checked once more with `realpath` to be a regular file inside the workspace.
 * Copying into a workspace creates directories one level at a time, refusing a level that is a link to
 * outside, and writes each file to a temp file beside its destination, then renames it into place: a
 * rename replaces a link at the destination instead of writing through it.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { distciError, relativePath } from '@distci/common';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';

/** Why a pattern list cannot be used, or null. */
export function refuseGlobs(patterns: readonly string[]): string | null {
  for (const raw of patterns) {
    const pattern = raw.startsWith('!') ? raw.slice(1) : raw;
    if (pattern === '') return `pattern '${raw}' is empty`;
    if (pattern.startsWith('/') || isAbsolute(pattern) || /^[A-Za-z]:/.test(pattern)) {
      return `pattern '${raw}' is absolute; patterns are relative to the workspace`;
    }
    if (pattern.split(/[\\/]/).includes('..')) return `pattern '${raw}' has a '..' segment`;
  }
  if (!patterns.some((p) => !p.startsWith('!'))) return 'every pattern is an exclusion (!…); nothing could match';
  return null;
}

const GLOB_OPTIONS = { dot: false } as const;

function split(patterns: readonly string[]): { include: string[]; exclude: string[] } {
  return {
    include: patterns.filter((p) => !p.startsWith('!')),
    exclude: patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1)),
  };
}

/** A predicate for `/`-separated relative paths (manifest entries) with the same meaning as `findFiles`. */
export function pathMatcher(patterns: readonly string[]): (path: string) => boolean {
  const { include, exclude } = split(patterns);
  const yes = picomatch(include, GLOB_OPTIONS);
  const no = exclude.length ? picomatch(exclude, GLOB_OPTIONS) : () => false;
  return (path) => yes(path) && !no(path);
}

export function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export interface WorkspaceFile {
  /** `/`-separated, relative to the workspace. */
  path: string;
  abs: string;
  size: number;
}

/** The regular files under `dir` matching `patterns`, sorted by path. */
export async function findFiles(dir: string, patterns: readonly string[]): Promise<WorkspaceFile[]> {
  const root = await realpath(dir);
  const { include, exclude } = split(patterns);
  const matches = await glob(include, {
    ...GLOB_OPTIONS,
    cwd: root,
    ignore: exclude,
    onlyFiles: true,
    followSymbolicLinks: false,
    expandDirectories: false,
  });
  const files: WorkspaceFile[] = [];
  for (const match of matches) {
    const path = relativePath(match.split(sep).join('/'), 'artifact path');
    const abs = join(root, path);
    // Defence in depth: the glob follows no link, but a match must still be a regular file, really here.
    const info = await lstat(abs);
    if (!info.isFile() || !inside(root, await realpath(abs))) continue;
    files.push({ path, abs, size: info.size });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const outside = (what: string, path: string) =>
  distciError('DISTCI_BAD_PATH', `refused to write '${path}': ${what}`, {
    hint: 'a copy may only write inside the workspace; remove the link or choose another "into"',
  });

/**
 * Makes the directory `rel` (relative, `/`-separated) under `root`, one level at a time; a level that
 * exists must be a directory, or a link to a directory inside the workspace. Returns its real path.
 */
export async function makeDirInside(root: string, rel: string): Promise<string> {
  const realRoot = await realpath(root);
  let current = realRoot;
  if (rel === '' || rel === '.') return current;
  for (const part of relativePath(rel, 'directory').split('/')) {
    const next = join(current, part);
    try {
      await mkdir(next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const info = await lstat(next);
    if (info.isSymbolicLink()) {
      const target = await realpath(next);
      if (!inside(realRoot, target))
        throw outside(`'${relative(realRoot, next)}' is a link to outside the workspace`, rel);
      if (!(await stat(target)).isDirectory()) throw outside(`'${relative(realRoot, next)}' is not a directory`, rel);
      current = target;
    } else if (info.isDirectory()) {
      current = next;
    } else {
      throw outside(`'${relative(realRoot, next)}' is not a directory`, rel);
    }
  }
  return current;
}

/** A fresh temp file name beside `dest`: hidden, unique, created with O_EXCL by the caller. */
export function tempBeside(dest: string): string {
  return join(dirname(dest), `.${basename(dest)}.distci-${randomBytes(6).toString('hex')}`);
}

/** Moves `temp` over `dest` (replacing a file or link there, never writing through it). */
export async function moveIntoPlace(temp: string, dest: string): Promise<void> {
  try {
    await rename(temp, dest);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
}
