/** The body of `distci storage init` (loaded only when that command runs). */
import { compileStorageOptions } from '@distci/common';
import { initStorage, openStorage } from '@distci/storage';
import { storageFlags } from '../storage-flags.js';

export async function initStorageCommand(opts: Record<string, string | undefined>): Promise<void> {
  const storage = await openStorage(compileStorageOptions(storageFlags(opts)));
  try {
    for (const line of await initStorage(storage)) process.stdout.write(`${line}\n`);
  } finally {
    await storage.close();
  }
}
