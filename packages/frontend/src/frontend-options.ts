/**
 * The frontend's options, compiled once at its entry point from the `frontend` rows of `OPTION_TABLE`
 * (`@distci/common` option-table.ts: flags, then env, then defaults; the table and its docs are in
 * docs/configuration.md), validated and frozen. Inner code sees only `FrontendOptions`. Storage
 * options are compiled separately by `compileStorageOptions`.
 *
 * Tokens are kept only as sha256 digests and compared in constant time (`auth.ts`); the clear text is
 * dropped here. A token never appears in logs: a caller is named by `token:<first 8 hex of its digest>`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { badOption, type Env, loadSecretsKey, optionRow, readOption, type SecretsKey } from '@distci/common';

/** 64 KiB: every other body (trigger params, retry) is small. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** The defaults of the table, for the code that needs them as numbers. */
export const DEFAULT_JOB_BODY_LIMIT = optionRow('frontend', 'jobBodyLimit').default as number;
export const DEFAULT_WEBHOOK_BODY_LIMIT = optionRow('frontend', 'webhookBodyLimit').default as number;
export const DEFAULT_LOG_POLL_MS = optionRow('frontend', 'logPollMs').default as number;

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

const bad = badOption;

/** The sha256 digest of a token: what is kept, compared and (its first 8 hex) logged. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function readTokens(flags: FrontendFlags, env: Env): string[] {
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

export function compileFrontendOptions(flags: FrontendFlags = {}, env: Env = process.env): FrontendOptions {
  const given: Record<string, unknown> = { ...flags, ...flags.rateLimits };
  const read = <T>(name: string) => readOption<T>('frontend', name, given, env);
  const keyFile = read<string | undefined>('secretsKeyFile');
  return Object.freeze({
    port: read<number>('port'),
    host: read<string>('host'),
    tokenDigests: Object.freeze(readTokens(flags, env).map(tokenDigest)),
    readAuth: read<ReadAuth>('readAuth'),
    secretsKey: flags.secretsKey ?? (keyFile ? loadSecretsKey(keyFile) : null),
    githubSecret: read<string | undefined>('githubSecret') ?? null,
    bodyLimits: Object.freeze({
      job: read<number>('jobBodyLimit'),
      webhook: read<number>('webhookBodyLimit'),
      other: DEFAULT_BODY_LIMIT,
    }),
    rateLimits: Object.freeze({
      writesPerMinute: read<number>('writesPerMinute'),
      notFoundPerMinute: read<number>('notFoundPerMinute'),
    }),
    publicUrl: read<string | undefined>('publicUrl') ?? null,
    trustProxy: read<boolean>('trustProxy'),
    logLevel: read<string>('logLevel'),
    logPollMs: read<number>('logPollMs'),
    webhookSweepMs: read<number>('webhookSweepMs'),
    requestTimeoutMs: read<number>('requestTimeoutMs'),
    connectionTimeoutMs: read<number>('connectionTimeoutMs'),
    allowLocalRepositories: read<boolean>('allowLocalRepositories'),
  } satisfies FrontendOptions);
}
