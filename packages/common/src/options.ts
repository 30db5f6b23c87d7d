/**
 * Options are compiled once, at the entry point: read flags and env, validate, fill defaults, freeze.
 * Inner code sees only `StorageOptions`. Every option has a documented default and an env/flag name
 * (table in `docs/configuration.md`).
 *
 * | option | flag | env | default |
 * |---|---|---|---|
 * | ZooKeeper connection (+ optional `/chroot`) | `--zk` | `DISTCI_ZK` | none: embedded store |
 * | session timeout | `--session-timeout` | `DISTCI_SESSION_TIMEOUT_MS` | 10000 |
 * | S3 endpoint | `--s3-endpoint` | `DISTCI_S3_ENDPOINT` | none: directory store |
 * | S3 bucket | `--s3-bucket` | `DISTCI_S3_BUCKET` | `distci` |
 * | S3 region | `--s3-region` | `DISTCI_S3_REGION` | `us-east-1` |
 * | S3 key prefix (share a bucket) | `--s3-prefix` | `DISTCI_S3_PREFIX` | none |
 * | S3 access key | — | `AWS_ACCESS_KEY_ID` | none (SDK default chain) |
 * | S3 secret key | — | `AWS_SECRET_ACCESS_KEY` | none (SDK default chain) |
 * | data dir (embedded store, directory store) | `--data-dir` | `DISTCI_DATA_DIR` | `.distci` |
 */
import { resolve } from 'node:path';
import { distciError } from './errors.js';

/** 10 s: ZooKeeper's usual session timeout; a lost worker's tickets resume after it. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
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

const bad = (name: string, value: string, hint: string) =>
  distciError('DISTCI_BAD_OPTION', `${name}='${value}' is not valid`, { hint, details: { option: name, value } });

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
export function compileStorageOptions(
  flags: StorageFlags = {},
  env: Record<string, string | undefined> = process.env,
): StorageOptions {
  const dataDir = resolve(flags.dataDir ?? env.DISTCI_DATA_DIR ?? '.distci');
  const timeoutRaw = flags.sessionTimeout ?? env.DISTCI_SESSION_TIMEOUT_MS;
  let sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS;
  if (timeoutRaw !== undefined && timeoutRaw !== '') {
    sessionTimeoutMs = Number(timeoutRaw);
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 1000 || sessionTimeoutMs > 120_000) {
      throw bad('DISTCI_SESSION_TIMEOUT_MS', String(timeoutRaw), 'use an integer number of ms, 1000..120000');
    }
  }
  const zk = flags.zk ?? env.DISTCI_ZK;
  const coordination: CoordinationOptions =
    zk !== undefined && zk !== ''
      ? { type: 'zookeeper', ...parseZkConnect(zk), sessionTimeoutMs }
      : { type: 'embedded', dataDir: resolve(dataDir, 'coordination'), sessionTimeoutMs };

  const endpoint = flags.s3Endpoint ?? env.DISTCI_S3_ENDPOINT;
  let blob: BlobOptions;
  if (endpoint !== undefined && endpoint !== '') {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw bad('DISTCI_S3_ENDPOINT', endpoint, 'use a URL like http://127.0.0.1:7480');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw bad('DISTCI_S3_ENDPOINT', endpoint, 'use an http:// or https:// URL');
    }
    const bucket = flags.s3Bucket ?? env.DISTCI_S3_BUCKET ?? 'distci';
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw bad('DISTCI_S3_BUCKET', bucket, 'use 3-63 characters of a-z, 0-9, "." and "-"');
    }
    blob = {
      type: 's3',
      endpoint: url.toString().replace(/\/$/, ''),
      bucket,
      region: flags.s3Region ?? env.DISTCI_S3_REGION ?? 'us-east-1',
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      prefix: compilePrefix(flags.s3Prefix ?? env.DISTCI_S3_PREFIX ?? ''),
    };
  } else {
    blob = { type: 'directory', dir: resolve(dataDir, 'objects'), prefix: '' };
  }
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
