/**
 * The frontend's options, compiled once at its entry point (flags, then env, then defaults), validated
 * and frozen. Inner code sees only `FrontendOptions`. Storage options are compiled separately by
 * `compileStorageOptions` (`@distci/common`).
 *
 * | option | flag | env | default |
 * |---|---|---|---|
 * | listen port | `--port` | `DISTCI_PORT` | 8080 |
 * | listen host | `--host` | `DISTCI_HOST` | `127.0.0.1` (set `0.0.0.0` behind a proxy or in a container) |
 * | API tokens | — | `DISTCI_TOKENS` (comma-separated) | none: every write is refused |
 * | API tokens file | `--tokens-file` | `DISTCI_TOKENS_FILE` (one per line, `#` comments) | none |
 * | secrets key file | `--secrets-key-file` | `DISTCI_SECRETS_KEY_FILE` | none: secrets cannot be set |
 * | read access | `--read-auth` | `DISTCI_READ_AUTH` = `public` \| `token` | `public` |
 * | GitHub webhook secret | — | `DISTCI_GITHUB_SECRET` | none: every delivery is refused (401) |
 * | job body limit | — | `DISTCI_JOB_BODY_LIMIT` (bytes) | 1 MiB |
 * | webhook body limit | — | `DISTCI_WEBHOOK_BODY_LIMIT` (bytes, up to 25 MiB) | 5 MiB (GitHub caps payloads at 25 MB) |
 * | request timeout (whole request received) | — | `DISTCI_REQUEST_TIMEOUT_MS` | 30000 |
 * | idle connection timeout | — | `DISTCI_CONNECTION_TIMEOUT_MS` | 60000 |
 * | allow local repository URLs | `--allow-local-repositories` | `DISTCI_ALLOW_LOCAL_REPOSITORIES` = `true` \| `false` | `false` (`distci dev`: `true`) |
 * | writes per client per minute | — | `DISTCI_RATE_LIMIT_WRITES` | 300 |
 * | 404s per client per minute | — | `DISTCI_RATE_LIMIT_NOT_FOUND` | 60 |
 * | public base URL (for `url` fields) | `--public-url` | `DISTCI_PUBLIC_URL` | none: URLs are paths (`/api/v1/…`) |
 * | trust `X-Forwarded-*` | — | `DISTCI_TRUST_PROXY` = `true` \| `false` | `false` |
 * | log level | `--log-level` | `DISTCI_LOG_LEVEL` | `info` |
 * | log follow poll | — | `DISTCI_LOG_POLL_MS` | 500 |
 * | webhook inbox sweep | — | `DISTCI_WEBHOOK_SWEEP_MS` (0 = off) | 60000 |
 *
 * Tokens are kept only as sha256 digests and compared in constant time (`auth.ts`); the clear text is
 * dropped here. A token never appears in logs: a caller is named by `token:<first 8 hex of its digest>`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { allowLocalRepositoriesFrom, distciError, loadSecretsKey, type SecretsKey } from '@distci/common';

/** 1 MiB: the largest job config anyone should write by hand is a few KiB. */
export const DEFAULT_JOB_BODY_LIMIT = 1024 * 1024;
/**
 * 5 MiB: a push or pull_request payload is a few KiB to a few hundred (GitHub lists at most 20 commits),
 * and the body is held in memory until its signature can be checked — 25 MiB (GitHub's cap, the most
 * `DISTCI_WEBHOOK_BODY_LIMIT` may be set to) per slow connection held 180 MB for 8 connections.
 */
export const DEFAULT_WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;
/** 25 MiB: GitHub caps webhook payloads at 25 MB and drops larger ones itself. */
export const MAX_WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
/**
 * 30 s: the longest a client may take to send a whole request (headers and body; the largest is a
 * webhook of at most 25 MiB, which GitHub sends in well under a second). Answers (SSE) are not bounded.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** 60 s: a connection silent this long is closed; SSE streams send a keepalive every 15 s. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;
/** 64 KiB: every other body (trigger params, retry) is small. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** 500 ms: a log chunk is written about once a second, so a follower sees it within ~half a chunk. */
export const DEFAULT_LOG_POLL_MS = 500;
/**
 * 60 s: an inbox entry still open this long after it was received is completed by whichever frontend
 * sweeps first (its own request normally completes it within a second).
 */
export const DEFAULT_WEBHOOK_SWEEP_MS = 60_000;

export type ReadAuth = 'public' | 'token';

export interface FrontendOptions {
  readonly port: number;
  readonly host: string;
  /** sha256 digests of the accepted bearer tokens. */
  readonly tokenDigests: readonly Buffer[];
  readonly readAuth: ReadAuth;
  /** Seals secrets set through the API (`DISTCI_SECRETS_KEY_FILE`); null: setting one is refused. */
  readonly secretsKey: SecretsKey | null;
  readonly githubSecret: string | null;
  readonly bodyLimits: { readonly job: number; readonly webhook: number; readonly other: number };
  readonly rateLimits: { readonly writesPerMinute: number; readonly notFoundPerMinute: number };
  readonly publicUrl: string | null;
  readonly trustProxy: boolean;
  readonly logLevel: string;
  readonly logPollMs: number;
  readonly webhookSweepMs: number;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  /** Whether job configs may name a local repository (`file://`, a path): `repository-location.ts`. */
  readonly allowLocalRepositories: boolean;
}

export interface FrontendFlags {
  port?: string | number;
  host?: string;
  tokens?: readonly string[];
  tokensFile?: string;
  secretsKeyFile?: string;
  /** A key already loaded (`distci dev` makes its own); wins over `secretsKeyFile`. */
  secretsKey?: SecretsKey;
  readAuth?: string;
  githubSecret?: string;
  publicUrl?: string;
  logLevel?: string;
  rateLimits?: { writesPerMinute?: number; notFoundPerMinute?: number };
  logPollMs?: number;
  webhookSweepMs?: number;
  allowLocalRepositories?: boolean;
}

const bad = (name: string, value: string, hint: string) =>
  distciError('DISTCI_BAD_OPTION', `${name}='${value}' is not valid`, { hint, details: { option: name } });

function int(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw bad(name, String(raw), `use an integer ${min}..${max}`);
  return n;
}

/** The sha256 digest of a token: what is kept, compared and (its first 8 hex) logged. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readTokens(flags: FrontendFlags, env: Record<string, string | undefined>): string[] {
  const tokens = [...(flags.tokens ?? (env.DISTCI_TOKENS ?? '').split(','))];
  const file = flags.tokensFile ?? env.DISTCI_TOKENS_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw bad('DISTCI_TOKENS_FILE', file, `the file cannot be read (${(err as Error).message})`);
    }
    tokens.push(...text.split('\n').filter((line) => !line.trimStart().startsWith('#')));
  }
  const out = [...new Set(tokens.map((tok) => tok.trim()).filter(Boolean))];
  for (const tok of out) {
    // 16: a shorter token can be guessed; printable ASCII: it travels in a header.
    if (tok.length < 16 || !/^[\x21-\x7e]+$/.test(tok)) {
      throw bad('DISTCI_TOKENS', '…', 'each token needs at least 16 printable ASCII characters without spaces');
    }
  }
  return out;
}

export function compileFrontendOptions(
  flags: FrontendFlags = {},
  env: Record<string, string | undefined> = process.env,
): FrontendOptions {
  const readAuth = flags.readAuth ?? env.DISTCI_READ_AUTH ?? 'public';
  if (readAuth !== 'public' && readAuth !== 'token') throw bad('DISTCI_READ_AUTH', readAuth, 'use public or token');
  const host = flags.host ?? env.DISTCI_HOST ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) throw bad('DISTCI_HOST', host, 'use an address like 0.0.0.0 or ::');
  const publicUrlRaw = flags.publicUrl ?? env.DISTCI_PUBLIC_URL ?? '';
  let publicUrl: string | null = null;
  if (publicUrlRaw !== '') {
    let url: URL;
    try {
      url = new URL(publicUrlRaw);
    } catch {
      throw bad('DISTCI_PUBLIC_URL', publicUrlRaw, 'use a URL like https://ci.example.com');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw bad('DISTCI_PUBLIC_URL', publicUrlRaw, 'use an http:// or https:// URL');
    }
    publicUrl = url.toString().replace(/\/+$/, '');
  }
  const trust = env.DISTCI_TRUST_PROXY ?? 'false';
  if (trust !== 'true' && trust !== 'false') throw bad('DISTCI_TRUST_PROXY', trust, 'use true or false');
  const logLevel = flags.logLevel ?? env.DISTCI_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw bad('DISTCI_LOG_LEVEL', logLevel, 'use fatal, error, warn, info, debug, trace or silent');
  }
  const secret = flags.githubSecret ?? env.DISTCI_GITHUB_SECRET ?? '';
  const keyFile = flags.secretsKeyFile ?? env.DISTCI_SECRETS_KEY_FILE ?? '';
  return Object.freeze({
    port: int('DISTCI_PORT', flags.port ?? env.DISTCI_PORT, 8080, 0, 65535),
    host,
    tokenDigests: Object.freeze(readTokens(flags, env).map(tokenDigest)),
    readAuth,
    secretsKey: flags.secretsKey ?? (keyFile === '' ? null : loadSecretsKey(keyFile)),
    githubSecret: secret === '' ? null : secret,
    bodyLimits: Object.freeze({
      job: int('DISTCI_JOB_BODY_LIMIT', env.DISTCI_JOB_BODY_LIMIT, DEFAULT_JOB_BODY_LIMIT, 1024, 64 << 20),
      webhook: int(
        'DISTCI_WEBHOOK_BODY_LIMIT',
        env.DISTCI_WEBHOOK_BODY_LIMIT,
        DEFAULT_WEBHOOK_BODY_LIMIT,
        1024,
        MAX_WEBHOOK_BODY_LIMIT,
      ),
      other: DEFAULT_BODY_LIMIT,
    }),
    rateLimits: Object.freeze({
      writesPerMinute: int(
        'DISTCI_RATE_LIMIT_WRITES',
        flags.rateLimits?.writesPerMinute ?? env.DISTCI_RATE_LIMIT_WRITES,
        300,
        1,
        1_000_000,
      ),
      notFoundPerMinute: int(
        'DISTCI_RATE_LIMIT_NOT_FOUND',
        flags.rateLimits?.notFoundPerMinute ?? env.DISTCI_RATE_LIMIT_NOT_FOUND,
        60,
        1,
        1_000_000,
      ),
    }),
    publicUrl,
    trustProxy: trust === 'true',
    logLevel,
    logPollMs: int('DISTCI_LOG_POLL_MS', flags.logPollMs ?? env.DISTCI_LOG_POLL_MS, DEFAULT_LOG_POLL_MS, 10, 60_000),
    webhookSweepMs: int(
      'DISTCI_WEBHOOK_SWEEP_MS',
      flags.webhookSweepMs ?? env.DISTCI_WEBHOOK_SWEEP_MS,
      DEFAULT_WEBHOOK_SWEEP_MS,
      0,
      86_400_000,
    ),
    requestTimeoutMs: int(
      'DISTCI_REQUEST_TIMEOUT_MS',
      env.DISTCI_REQUEST_TIMEOUT_MS,
      DEFAULT_REQUEST_TIMEOUT_MS,
      100,
      3_600_000,
    ),
    connectionTimeoutMs: int(
      'DISTCI_CONNECTION_TIMEOUT_MS',
      env.DISTCI_CONNECTION_TIMEOUT_MS,
      DEFAULT_CONNECTION_TIMEOUT_MS,
      100,
      3_600_000,
    ),
    allowLocalRepositories: flags.allowLocalRepositories ?? allowLocalRepositoriesFrom(env),
  } satisfies FrontendOptions);
}
