/**
 * The storage flags every daemon takes (`distci frontend`, `distci worker`): the same names as the env
 * variables of `compileStorageOptions` (docs/configuration.md). Flags win over env, env over defaults.
 */
import type { StorageFlags } from '@distci/common';
import type { Command } from 'commander';

export function addStorageOptions(cmd: Command): Command {
  return cmd
    .option('--zk <connect>', 'ZooKeeper host:port[,host:port…][/chroot] (env DISTCI_ZK; default: embedded store)')
    .option('--session-timeout <ms>', 'coordination session timeout (env DISTCI_SESSION_TIMEOUT_MS; default 10000)')
    .option('--s3-endpoint <url>', 'S3 endpoint (env DISTCI_S3_ENDPOINT; default: directory store)')
    .option('--s3-bucket <name>', 'S3 bucket (env DISTCI_S3_BUCKET; default distci)')
    .option('--s3-region <region>', 'S3 region (env DISTCI_S3_REGION; default us-east-1)')
    .option('--s3-prefix <prefix>', 'S3 key prefix, to share a bucket (env DISTCI_S3_PREFIX; default none)')
    .option('--data-dir <dir>', 'embedded store and directory store location (env DISTCI_DATA_DIR; default .distci)');
}

export function storageFlags(opts: Record<string, unknown>): StorageFlags {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    zk: str(opts.zk),
    sessionTimeout: str(opts.sessionTimeout),
    s3Endpoint: str(opts.s3Endpoint),
    s3Bucket: str(opts.s3Bucket),
    s3Region: str(opts.s3Region),
    s3Prefix: str(opts.s3Prefix),
    dataDir: str(opts.dataDir),
  };
}
