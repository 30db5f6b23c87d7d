/**
 * Listing for the directory blob store, with S3's ListObjectsV2 semantics: keys in ascending UTF-8 byte
 * order; with a delimiter, every key that has it after the prefix is rolled up into one common prefix
 * (ending with the delimiter), placed where its first key would be; `limit` counts keys and prefixes
 * together; a cursor is returned only when something follows.
 *
 * The walk is depth-first over the key directories, each one's entries sorted by the key text they
 * stand for (object `a` → "a", directory `a~` → "a/"): every key below `a~` starts with "a/", so sorting
 * each level sorts the whole walk. Subtrees that cannot match the prefix, or lie wholly before the
 * cursor, are not read, and a subtree rolled up by a "/"-like delimiter is only probed for one object.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { distciError } from '@distci/common';
import { classifyName, encodeSegment } from './directory-blob-layout.js';

export type ListItem = { key: string; path: string } | { prefix: string };

export interface ListScan {
  /** Only keys starting with this (relative to the store root). */
  prefix: string;
  delimiter?: string;
  /** Only items (keys or common prefixes) after this one: the last item of the previous page. */
  after?: string;
}

/** UTF-8 byte order, which S3 lists in (JavaScript's `<` compares UTF-16 code units). */
export const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const { after } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof after === 'string') return after;
  } catch {}
  throw distciError('DISTCI_BAD_OPTION', `list cursor '${cursor}' is not one this store returned`, {
    hint: 'pass the cursor of the previous page unchanged, or none to start over',
  });
}

/**
 * Every item of the listing in order. `base` is the store's directory, `rootDirs` the directory names of
 * its key prefix below it (checked, like every directory on the way, to be a real directory).
 */
export async function* listItems(base: string, rootDirs: string[], scan: ListScan): AsyncGenerator<ListItem> {
  // Start at the deepest directory the prefix names in full: 'builds/web/1/lo' starts at builds~/web~/1~.
  const whole = scan.prefix.split('/').slice(0, -1);
  const names: string[] = [...rootDirs];
  for (const segment of whole) {
    if (segment === '' || segment === '.' || segment === '..') return;
    try {
      names.push(`${encodeSegment(segment, scan.prefix)}~`);
    } catch {
      return;
    }
  }
  let dir = base;
  for (const name of names) {
    dir = join(dir, name);
    const stat = await lstat(dir).catch(() => null);
    if (!stat?.isDirectory()) return;
  }
  yield* walk(dir, whole.length > 0 ? `${whole.join('/')}/` : '', scan, { lastPrefix: undefined });
}

async function* walk(
  dir: string,
  base: string,
  scan: ListScan,
  state: { lastPrefix: string | undefined },
): AsyncGenerator<ListItem> {
  const { prefix, after } = scan;
  for (const entry of await sortedEntries(dir, base)) {
    if (entry.kind === 'object') {
      if (!entry.text.startsWith(prefix)) continue;
      const rolled = rollUp(entry.text, scan);
      if (after !== undefined && compareKeys(rolled ?? entry.text, after) <= 0) continue;
      if (rolled === undefined) {
        yield { key: entry.text, path: entry.path };
      } else if (rolled !== state.lastPrefix) {
        state.lastPrefix = rolled;
        yield { prefix: rolled };
      }
      continue;
    }
    // A directory: every key below it starts with entry.text ('a/').
    if (!entry.text.startsWith(prefix) && !prefix.startsWith(entry.text)) continue;
    if (after !== undefined && compareKeys(after, entry.text) >= 0 && !after.startsWith(entry.text)) continue;
    const rolled = rollUp(entry.text, scan);
    if (rolled === undefined) {
      yield* walk(entry.path, entry.text, scan, state);
    } else if (rolled !== state.lastPrefix && (after === undefined || compareKeys(rolled, after) > 0)) {
      // S3 shows a common prefix only when a key has it; directories may be left empty for a moment.
      if (await hasObject(entry.path)) {
        state.lastPrefix = rolled;
        yield { prefix: rolled };
      }
    }
  }
}

/** The common prefix `text` rolls up into, when the delimiter occurs in it after the prefix. */
function rollUp(text: string, scan: ListScan): string | undefined {
  if (!scan.delimiter) return undefined;
  const at = text.indexOf(scan.delimiter, scan.prefix.length);
  if (at === -1 || at + scan.delimiter.length > text.length) return undefined;
  return text.slice(0, at + scan.delimiter.length);
}

interface SortedEntry {
  kind: 'object' | 'dir';
  /** The key (object) or key prefix ending with '/' (directory) this entry stands for. */
  text: string;
  path: string;
}

async function sortedEntries(dir: string, base: string): Promise<SortedEntry[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: SortedEntry[] = [];
  for (const dirent of dirents) {
    const name = classifyName(dirent.name);
    // Symlinks are neither files nor directories to a Dirent: they are never followed.
    if (name?.kind === 'object' && dirent.isFile()) {
      entries.push({ kind: 'object', text: base + name.segment, path: join(dir, dirent.name) });
    } else if (name?.kind === 'dir' && dirent.isDirectory()) {
      entries.push({ kind: 'dir', text: `${base}${name.segment}/`, path: join(dir, dirent.name) });
    }
  }
  return entries.sort((a, b) => compareKeys(a.text, b.text));
}

async function hasObject(dir: string): Promise<boolean> {
  for (const entry of await sortedEntries(dir, '')) {
    if (entry.kind === 'object' || (await hasObject(entry.path))) return true;
  }
  return false;
}
