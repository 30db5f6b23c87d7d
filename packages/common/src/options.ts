/**
 * Storage options, compiled once at the entry point from the `storage` rows of `OPTION_TABLE`
 * (`option-table.ts`: flag, then env, then default; docs/configuration.md is generated from it),
 * validated and frozen. Inner code sees only `StorageOptions`.
 */
import { resolve } from 'node:path';
import { badOption, type Env, readOption } from './option-table.js';

/** The default chroot: every znode of distci lives under it, so a ZooKeeper can be shared. */
export const DEFAULT_CHROOT = '/distci';

export type CoordinationOptions =
  | { readonly type: 'zookeeper'; readonly connect: string; readonly chroot: string; readonly sessionTimeoutMs: number }
  | { readonly type: 'embedded'; readonly dataDir: string; readonly sessionTimeoutMs: number };

export type BlobOptions =
  | {
      readonly type: 's3';
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      readonly accessKeyId: string | undefined;
      readonly secretAccessKey: string | undefined;
      /** Every key is stored under this prefix ('' for none). */
      readonly prefix: string;
    }
  | { readonly type: 'directory'; readonly dir: string; readonly prefix: string };

export interface StorageOptions {
  readonly dataDir: string;
  readonly coordination: CoordinationOptions;
  readonly blob: BlobOptions;
}

export interface StorageFlags {
  zk?: string;
  sessionTimeout?: string | number;
  s3Endpoint?: string;
  s3Bucket?: string;
  s3Region?: string;
  s3Prefix?: string;
  dataDir?: string;
}

const bad = badOption;

/** Splits `host:port,host:port/chroot` into the connection string and the chroot. */
export function parseZkConnect(value: string): { connect: string; chroot: string } {
  const slash = value.indexOf('/');
  const connect = slash === -1 ? value : value.slice(0, slash);
  let chroot = slash === -1 ? DEFAULT_CHROOT : value.slice(slash).replace(/\/+$/, '');
  if (chroot === '') chroot = DEFAULT_CHROOT;
  const hostPort = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/;
  if (connect === '' || !connect.split(',').every((h) => hostPort.test(h))) {
    throw bad('DISTCI_ZK', value, 'use host:port[,host:port…][/chroot], e.g. 127.0.0.1:2181/distci');
  }
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(chroot) || chroot.split('/').some((p) => p === '.' || p === '..')) {
    throw bad('DISTCI_ZK', value, 'the chroot must be an absolute path like /distci');
  }
  return { connect, chroot };
}

/** Compiles storage options from flags (first) and env (second); the result is frozen. */
export function compileStorageOptions(flags: StorageFlags = {}, env: Env = process.env): StorageOptions {
  const read = <T>(name: string) => readOption<T>('storage', name, flags as Record<string, unknown>, env);
  const dataDir = read<string>('dataDir');
  const sessionTimeoutMs = read<number>('sessionTimeout');
  const zk = read<string | undefined>('zk');
  const coordination: CoordinationOptions = zk
    ? { type: 'zookeeper', ...parseZkConnect(zk), sessionTimeoutMs }
    : { type: 'embedded', dataDir: resolve(dataDir, 'coordination'), sessionTimeoutMs };
  const endpoint = read<string | undefined>('s3Endpoint');
  const blob: BlobOptions = endpoint
    ? {
        type: 's3',
        endpoint,
        bucket: read('s3Bucket'),
        region: read('s3Region'),
        accessKeyId: read('accessKeyId'),
        secretAccessKey: read('secretAccessKey'),
        prefix: compilePrefix(read('s3Prefix')),
      }
    : { type: 'directory', dir: resolve(dataDir, 'objects'), prefix: '' };
  return deepFreeze({ dataDir, coordination, blob });
}

/** A key prefix: '' or relative path segments ending in '/' (added when missing). */
function compilePrefix(raw: string): string {
  if (raw === '') return '';
  const prefix = raw.endsWith('/') ? raw : `${raw}/`;
  const segments = prefix.slice(0, -1).split('/');
  if (prefix.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..' || /[\\\0]/.test(s))) {
    throw bad('DISTCI_S3_PREFIX', raw, 'use relative path segments such as "team-a/ci"');
  }
  return prefix;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
