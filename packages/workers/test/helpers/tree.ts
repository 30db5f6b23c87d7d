/** A directory's files as `path → sha256` (symlinks as `-> target`), for comparing workspaces. */
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

export async function treeOf(
  root: string,
  options: { skip?: (path: string) => boolean } = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const path = relative(root, full).split('\\').join('/');
      if (options.skip?.(path)) continue;
      if (entry.isDirectory()) await walk(full);
      else if (entry.isSymbolicLink()) out[path] = `-> ${await readlink(full)}`;
      else
        out[path] = createHash('sha256')
          .update(await readFile(full))
          .digest('hex');
    }
  };
  await walk(root);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
