/**
 * The data dir of `distci dev` (and of a one-machine worker): tokens, the embedded store's log, every
 * object (logs, artifacts, workspaces) and the git cache. Only its owner may enter it: mode 0700, set
 * also on a dir that exists (it was 0755, with 0644 files: readable by every local user). The stores
 * create their files 0600 and their dirs 0700 as well.
 */
import { chmod, mkdir } from 'node:fs/promises';

export async function secureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
