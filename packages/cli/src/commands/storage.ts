/**
 * `distci storage init`: prepares the storage a cluster runs on, before any frontend or worker — creates
 * the bucket when missing (idempotent), proves the credentials with a write/read/delete probe, and
 * creates the ZooKeeper chroot. Prints a line per action. The body is in `daemons/init-storage.ts`.
 */
import type { Command } from 'commander';
import { addStorageOptions } from '../storage-flags.js';

export function storageCommand(program: Command): void {
  const storage = program.command('storage').summary('prepare the storage a cluster runs on');
  addStorageOptions(
    storage
      .command('init')
      .summary('create the bucket and the ZooKeeper chroot if missing, and check access')
      .description(
        'Creates the S3 bucket (or the data directory) when it is missing, checks that the credentials ' +
          'can write, read and delete an object, and creates the ZooKeeper chroot. Safe to run again.',
      ),
  ).action(async (opts: Record<string, string | undefined>) => {
    const { initStorageCommand } = await import('../daemons/init-storage.js');
    await initStorageCommand(opts);
  });
}
