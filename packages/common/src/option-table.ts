/**
 * Every option of every entry point in one table: its name, flag, env variable, default, parser and
 * doc. Each entry point compiles the rows of its section once (`readOption`: the flag first, then the
 * env variable, then the default) — storage (`options.ts`), the frontend, a worker, `distci dev`, the
 * client commands — and `docs/configuration.md`'s tables are generated from it (`npm run docs:config`;
 * a test keeps the file equal, and another that every flag a command declares and every `DISTCI_*`
 * variable the code reads has its row). So a flag, its env name, its default and its doc cannot drift.
 */
import { resolve } from 'node:path';
import { distciError } from './errors.js';

/** Which entry point reads a row (and which table of docs/configuration.md shows it). */
export type OptionSection = 'storage' | 'frontend' | 'worker' | 'dev' | 'client';

export type Env = Readonly<Record<string, string | undefined>>;

export interface OptionRow {
  readonly section: OptionSection;
  /** The key in the entry point's flags object (commander's camelCase of the flag). */
  readonly name: string;
  /** The flag with its value placeholder (`--zk <connect>`), or null: env only. */
  readonly flag: string | null;
  /** The environment variable, or null: a flag only. */
  readonly env: string | null;
  /** The value when neither flag nor env gives one (undefined: none). */
  readonly default: unknown;
  /** The default as the docs say it. */
  readonly defaultDoc: string;
  /** What it is: the docs' "option" column. */
  readonly doc: string;
  /** Raw text → value; throws DISTCI_BAD_OPTION naming the option. */
  readonly parse: (raw: string, row: OptionRow) => unknown;
}

/** The error of a bad option value: names the env variable (or flag) and says what to write. */
export function badOption(name: string, value: string, hint: string) {
  return distciError('DISTCI_BAD_OPTION', `${name}='${value}' is not valid`, { hint, details: { option: name } });
}

/** How a row is named in errors: its env variable, else its flag. */
export const optionLabel = (row: OptionRow): string => row.env ?? row.flag?.split(' ')[0] ?? row.name;

/** Parsers the rows share. */
export const parse = {
  text: (raw: string) => raw,
  path: (raw: string) => resolve(raw),
  int:
    (min: number, max: number) =>
    (raw: string, row: OptionRow): number => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max)
        throw badOption(optionLabel(row), raw, `use an integer ${min}..${max}`);
      return n;
    },
  oneOf:
    <const V extends readonly string[]>(values: V) =>
    (raw: string, row: OptionRow): V[number] => {
      if (!values.includes(raw)) throw badOption(optionLabel(row), raw, `use ${values.join(', ')}`);
      return raw;
    },
  bool: (raw: string, row: OptionRow): boolean => {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw badOption(optionLabel(row), raw, 'use true or false');
  },
  /** `a,b,c`: trimmed, without empties and duplicates. */
  list: (raw: string): string[] => [...new Set(raw.split(',').map((s) => s.trim()))].filter(Boolean),
  httpUrl:
    (example: string) =>
    (raw: string, row: OptionRow): string => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw badOption(optionLabel(row), raw, `use a URL like ${example}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw badOption(optionLabel(row), raw, 'use an http:// or https:// URL');
      }
      return url.toString().replace(/\/+$/, '');
    },
  /** Text that matches `re`; else refused with `hint`. */
  matching:
    (re: RegExp, hint: string) =>
    (raw: string, row: OptionRow): string => {
      if (!re.test(raw)) throw badOption(optionLabel(row), raw, hint);
      return raw;
    },
};

/** 10 s: ZooKeeper's usual session timeout; a lost worker's tickets resume after it. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/** The log levels of pino (the frontend's request log). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** exec-shell step isolation: a bubblewrap sandbox, none, or bwrap when it works (`sandbox.ts`). */
export const ISOLATION_MODES = ['bwrap', 'none', 'auto'] as const;

type RowInput = Omit<OptionRow, 'section' | 'parse' | 'default' | 'flag' | 'env'> &
  Partial<Pick<OptionRow, 'parse' | 'default' | 'flag' | 'env'>>;
const rows = (section: OptionSection, list: RowInput[]): OptionRow[] =>
  list.map((r) => ({ section, flag: null, env: null, default: undefined, parse: parse.text, ...r }));

const secretsKeyFile: RowInput = {
  name: 'secretsKeyFile',
  flag: '--secrets-key-file <file>',
  env: 'DISTCI_SECRETS_KEY_FILE',
  defaultDoc: 'none: setting a secret is refused (409 `DISTCI_SECRETS_DISABLED`) and steps that ask for one fail',
  doc: 'secrets key: 32 bytes as 64 hex characters (`openssl rand -hex 32`), mode 0600; the same file for every frontend and exec-shell worker',
};
const allowLocal: RowInput = {
  name: 'allowLocalRepositories',
  flag: '--allow-local-repositories',
  env: 'DISTCI_ALLOW_LOCAL_REPOSITORIES',
  default: false,
  defaultDoc: '`false`',
  doc: 'allow local repository URLs (`file://…`, `/path`, `../path`) in jobs (`true` | `false`)',
  parse: parse.bool,
};

const port: RowInput = {
  name: 'port',
  flag: '--port <port>',
  env: 'DISTCI_PORT',
  default: 8080,
  defaultDoc: '`8080`',
  doc: 'listen port',
  parse: parse.int(0, 65535),
};
const host: RowInput = {
  name: 'host',
  flag: '--host <host>',
  env: 'DISTCI_HOST',
  default: '127.0.0.1',
  defaultDoc: '`127.0.0.1`',
  doc: 'listen address',
  parse: parse.matching(/^[A-Za-z0-9.:-]{1,253}$/, 'use an address like 0.0.0.0 or ::'),
};

export const OPTION_TABLE: readonly OptionRow[] = [
  ...rows('storage', [
    {
      name: 'zk',
      flag: '--zk <connect>',
      env: 'DISTCI_ZK',
      defaultDoc: 'none: the embedded store under `<data dir>/coordination`',
      doc: 'ZooKeeper connection string, optional `/chroot` (default chroot `/distci`)',
    },
    {
      name: 'sessionTimeout',
      flag: '--session-timeout <ms>',
      env: 'DISTCI_SESSION_TIMEOUT_MS',
      default: DEFAULT_SESSION_TIMEOUT_MS,
      defaultDoc: '`10000`',
      doc: 'coordination session timeout (ms, 1000-120000)',
      parse: parse.int(1000, 120_000),
    },
    {
      name: 's3Endpoint',
      flag: '--s3-endpoint <url>',
      env: 'DISTCI_S3_ENDPOINT',
      defaultDoc: 'none: the directory store under `<data dir>/objects`',
      doc: 'S3 endpoint URL',
      parse: parse.httpUrl('http://127.0.0.1:7480'),
    },
    {
      name: 's3Bucket',
      flag: '--s3-bucket <name>',
      env: 'DISTCI_S3_BUCKET',
      default: 'distci',
      defaultDoc: '`distci`',
      doc: 'S3 bucket',
      parse: parse.matching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'use 3-63 characters of a-z, 0-9, "." and "-"'),
    },
    {
      name: 's3Region',
      flag: '--s3-region <region>',
      env: 'DISTCI_S3_REGION',
      default: 'us-east-1',
      defaultDoc: '`us-east-1`',
      doc: 'S3 region',
    },
    {
      name: 's3Prefix',
      flag: '--s3-prefix <prefix>',
      env: 'DISTCI_S3_PREFIX',
      default: '',
      defaultDoc: 'none',
      doc: 'S3 key prefix (several installations in one bucket)',
    },
    { name: 'accessKeyId', env: 'AWS_ACCESS_KEY_ID', defaultDoc: "the AWS SDK's default chain", doc: 'S3 access key' },
    {
      name: 'secretAccessKey',
      env: 'AWS_SECRET_ACCESS_KEY',
      defaultDoc: "the AWS SDK's default chain",
      doc: 'S3 secret key',
    },
    {
      name: 'dataDir',
      flag: '--data-dir <dir>',
      env: 'DISTCI_DATA_DIR',
      default: '.distci',
      defaultDoc: '`.distci`',
      doc: 'data dir (the embedded store, the directory store, `distci dev`’s token and key)',
      parse: parse.path,
    },
  ]),
  ...rows('frontend', [
    port,
    { ...host, defaultDoc: '`127.0.0.1` (`0.0.0.0` in a container or behind a proxy)' },
    {
      name: 'tokens',
      env: 'DISTCI_TOKENS',
      defaultDoc: 'none: every write is refused (401)',
      doc: 'API tokens, comma-separated (≥ 16 printable characters each)',
      parse: parse.list,
    },
    {
      name: 'tokensFile',
      flag: '--tokens-file <file>',
      env: 'DISTCI_TOKENS_FILE',
      defaultDoc: 'none',
      doc: 'API tokens file, one per line, `#` comments',
    },
    secretsKeyFile,
    {
      name: 'readAuth',
      env: 'DISTCI_READ_AUTH',
      default: 'public',
      defaultDoc: '`public`',
      doc: 'who may read: `public` | `token`',
      parse: parse.oneOf(['public', 'token']),
    },
    {
      name: 'githubSecret',
      env: 'DISTCI_GITHUB_SECRET',
      defaultDoc: 'none: every delivery is refused (401)',
      doc: 'GitHub webhook secret',
    },
    {
      name: 'jobBodyLimit',
      env: 'DISTCI_JOB_BODY_LIMIT',
      default: 1024 * 1024,
      defaultDoc: '1 MiB',
      doc: 'job config body limit (bytes)',
      parse: parse.int(1024, 64 << 20),
    },
    {
      name: 'webhookBodyLimit',
      env: 'DISTCI_WEBHOOK_BODY_LIMIT',
      // 5 MiB: a push or pull_request payload is a few KiB to a few hundred (GitHub lists at most 20
      // commits), and the body is held in memory until its signature is checked: 25 MiB (GitHub's cap,
      // the most it may be set to) per slow connection held 180 MB for 8 connections.
      default: 5 * 1024 * 1024,
      defaultDoc: '5 MiB',
      doc: "webhook body limit (bytes, 1 KiB-25 MiB: GitHub's own cap)",
      parse: parse.int(1024, 25 * 1024 * 1024),
    },
    {
      name: 'requestTimeoutMs',
      env: 'DISTCI_REQUEST_TIMEOUT_MS',
      // 30 s: the whole request (headers and body) of a client; GitHub sends 25 MiB in well under a second.
      default: 30_000,
      defaultDoc: '`30000`',
      doc: 'time a client may take to send a whole request (ms)',
      parse: parse.int(100, 3_600_000),
    },
    {
      name: 'connectionTimeoutMs',
      env: 'DISTCI_CONNECTION_TIMEOUT_MS',
      default: 60_000,
      defaultDoc: '`60000`',
      doc: 'idle connection timeout (ms; SSE streams send a keepalive every 15 s)',
      parse: parse.int(100, 3_600_000),
    },
    allowLocal,
    {
      name: 'writesPerMinute',
      env: 'DISTCI_RATE_LIMIT_WRITES',
      default: 300,
      defaultDoc: '`300`',
      doc: 'writes per client and minute (all write routes together)',
      parse: parse.int(1, 1_000_000),
    },
    {
      name: 'notFoundPerMinute',
      env: 'DISTCI_RATE_LIMIT_NOT_FOUND',
      default: 60,
      defaultDoc: '`60`',
      doc: '404 answers per client and minute',
      parse: parse.int(1, 1_000_000),
    },
    {
      name: 'publicUrl',
      flag: '--public-url <url>',
      env: 'DISTCI_PUBLIC_URL',
      defaultDoc: 'none: paths (`/api/v1/…`)',
      doc: 'base URL for `url` fields and `Location`',
      parse: parse.httpUrl('https://ci.example.com'),
    },
    {
      name: 'trustProxy',
      env: 'DISTCI_TRUST_PROXY',
      default: false,
      defaultDoc: '`false`',
      doc: 'trust `X-Forwarded-*` (behind a proxy): `true` | `false`',
      parse: parse.bool,
    },
    {
      name: 'logLevel',
      flag: '--log-level <level>',
      env: 'DISTCI_LOG_LEVEL',
      default: 'info',
      defaultDoc: '`info`',
      doc: `request log level (stdout; ${LOG_LEVELS.join(', ')}); its own lines (stderr: ready, warnings) stay at info`,
      parse: parse.oneOf(LOG_LEVELS),
    },
    {
      name: 'json',
      flag: '--json',
      default: false,
      defaultDoc: 'off: human lines',
      doc: 'its own lines (stderr) as JSON lines too, as the request log is',
    },
    {
      name: 'logPollMs',
      env: 'DISTCI_LOG_POLL_MS',
      // 500 ms: a log chunk is written about once a second, so a follower sees it within ~half a chunk.
      default: 500,
      defaultDoc: '`500`',
      doc: 'log follow poll while a step runs (ms)',
      parse: parse.int(10, 60_000),
    },
    {
      name: 'webhookSweepMs',
      env: 'DISTCI_WEBHOOK_SWEEP_MS',
      // 60 s: an inbox entry still open this long is completed by whichever frontend sweeps first.
      default: 60_000,
      defaultDoc: '`60000`',
      doc: 'webhook inbox sweep period (ms, `0` = off)',
      parse: parse.int(0, 86_400_000),
    },
  ]),
  ...rows('worker', [
    {
      name: 'labels',
      flag: '--labels <a,b>',
      env: 'DISTCI_LABELS',
      default: [],
      defaultDoc: 'none',
      doc: 'exec-shell: the labels this worker offers (steps need all of theirs)',
      parse: parse.list,
    },
    {
      name: 'concurrency',
      flag: '--concurrency <n>',
      env: 'DISTCI_CONCURRENCY',
      default: 1,
      defaultDoc: '`1`',
      doc: 'tickets this worker runs at once (1-256)',
      parse: parse.int(1, 256),
    },
    {
      name: 'graceMs',
      flag: '--grace-ms <ms>',
      env: 'DISTCI_GRACE_MS',
      // 30 s: long enough for most steps to finish on a rolling restart, short of systemd's 90 s limit.
      default: 30_000,
      defaultDoc: '`30000`',
      doc: 'on SIGTERM: how long running steps may finish before the rest is released (ms)',
      parse: parse.int(0, 3_600_000),
    },
    {
      name: 'sweepMs',
      env: 'DISTCI_SWEEP_MS',
      // 30 s: watches do the real work; the sweep only catches what a lost watch missed.
      default: 30_000,
      defaultDoc: '`30000`',
      doc: 'how often an idle worker looks at its queues without a watch firing (ms)',
      parse: parse.int(100, 3_600_000),
    },
    {
      name: 'workerId',
      flag: '--worker-id <id>',
      env: 'DISTCI_WORKER_ID',
      defaultDoc: '`<host>-<pid>-<random>`',
      doc: 'the worker id (1-100 of A-Z a-z 0-9 . _ -)',
      parse: parse.matching(/^[A-Za-z0-9._-]{1,100}$/, 'use 1-100 of A-Z a-z 0-9 . _ -'),
    },
    {
      name: 'isolation',
      flag: '--isolation <mode>',
      env: 'DISTCI_ISOLATION',
      default: 'bwrap',
      defaultDoc: '`bwrap`',
      doc: 'exec-shell step isolation: `bwrap` | `none` | `auto` (below)',
      parse: parse.oneOf(ISOLATION_MODES),
    },
    {
      name: 'metricsPort',
      flag: '--metrics-port <port>',
      env: 'DISTCI_METRICS_PORT',
      defaultDoc: 'none: no endpoint (`0` picks a free port)',
      doc: 'serve `GET /metrics` and `GET /healthz` on this port',
      parse: parse.int(0, 65535),
    },
    {
      name: 'metricsHost',
      flag: '--metrics-host <host>',
      env: 'DISTCI_METRICS_HOST',
      default: '127.0.0.1',
      defaultDoc: '`127.0.0.1`',
      doc: 'the address of the metrics endpoint',
      parse: parse.matching(/^[A-Za-z0-9.:-]{1,253}$/, 'use an address like 0.0.0.0 or ::'),
    },
    { ...secretsKeyFile, doc: 'exec-shell: the secrets key file (the frontends’)' },
    {
      name: 'json',
      flag: '--json',
      default: false,
      defaultDoc: 'off: a line of text each',
      doc: "log as JSON lines (pino's fields plus worker, kind, ticket, attempt, job, build, step; stderr)",
    },
    {
      name: 'logLevel',
      flag: '--log-level <level>',
      env: 'DISTCI_LOG_LEVEL',
      defaultDoc: '`info`',
      doc: `log level (${LOG_LEVELS.join(', ')}; see [Logs](#logs))`,
      parse: parse.oneOf(LOG_LEVELS),
    },
    allowLocal,
    {
      name: 'githubToken',
      env: 'DISTCI_GITHUB_TOKEN',
      defaultDoc: 'none: no statuses are posted',
      doc: 'control: the GitHub token that posts commit statuses of builds triggered by GitHub',
    },
    {
      name: 'githubApiUrl',
      env: 'DISTCI_GITHUB_API_URL',
      default: 'https://api.github.com',
      defaultDoc: '`https://api.github.com`',
      doc: 'control: the GitHub API (GitHub Enterprise: `https://host/api/v3`)',
      parse: parse.httpUrl('https://api.github.com'),
    },
    {
      name: 'publicUrl',
      env: 'DISTCI_PUBLIC_URL',
      defaultDoc: 'none: statuses carry no link',
      doc: "control: the dashboard's base URL, for a status's `target_url` (the frontends')",
      parse: parse.httpUrl('https://ci.example.com'),
    },
    {
      name: 'gitCacheDir',
      env: 'DISTCI_GIT_CACHE_DIR',
      defaultDoc: '`<data dir>/git-cache` when a data dir is given, else `<OS temp dir>/distci-git-cache`',
      doc: "git-checkout's cache of bare mirrors",
      parse: parse.path,
    },
    {
      name: 'gitTimeoutMs',
      env: 'DISTCI_GIT_TIMEOUT_MS',
      // 10 min: a shallow fetch of a 1 GB repository over a slow link takes minutes; longer is hung.
      default: 600_000,
      defaultDoc: '`600000` (10 min)',
      doc: 'git-checkout: how long one git operation may run (ms)',
      parse: parse.int(100, 86_400_000),
    },
  ]),
  ...rows('dev', [
    { ...port, defaultDoc: '`8080`; with `--demo`, a free port' },
    { ...host, defaultDoc: '`127.0.0.1`' },
    {
      name: 'dataDir',
      flag: '--data-dir <dir>',
      env: 'DISTCI_DATA_DIR',
      default: '.distci',
      defaultDoc: '`.distci`',
      doc: 'data dir: the embedded store, the directory store, the token, the secrets key',
      parse: parse.path,
    },
    {
      name: 'labels',
      flag: '--labels <a,b>',
      default: [],
      defaultDoc: 'none (the worker always has `process.platform`, `process.arch`: `linux`, `x64`)',
      doc: 'extra exec-shell labels',
      parse: parse.list,
    },
    {
      ...allowLocal,
      flag: null,
      default: true,
      defaultDoc: '`true` (one machine, the operator’s own)',
    },
    {
      name: 'logLevel',
      flag: '--log-level <level>',
      env: 'DISTCI_LOG_LEVEL',
      defaultDoc: 'worker events and its own lines `info`; the request log `warn` unless set',
      doc: 'log level (stderr; see [Logs](#logs))',
      parse: parse.oneOf(LOG_LEVELS),
    },
    {
      name: 'isolation',
      flag: '--isolation <mode>',
      env: 'DISTCI_ISOLATION',
      default: 'auto',
      defaultDoc: '`auto`: bubblewrap when it works, else none, said once on stderr',
      doc: 'step isolation: `bwrap` | `none` | `auto` (below)',
      parse: parse.oneOf(ISOLATION_MODES),
    },
    {
      ...secretsKeyFile,
      flag: null,
      defaultDoc: '`<data dir>/secrets.key`, made (mode 0600) on the first start',
    },
    {
      name: 'demo',
      flag: '--demo',
      default: false,
      defaultDoc: 'off',
      doc: 'build the sample jobs against local git repositories, follow the build, exit with its result',
    },
    {
      name: 'json',
      flag: '--json',
      default: false,
      defaultDoc: 'off',
      doc: 'log worker events as JSON lines (stderr)',
    },
    {
      name: 'quiet',
      flag: '--quiet',
      default: false,
      defaultDoc: 'off',
      doc: 'log only worker events that need attention',
    },
  ]),
  ...rows('client', [
    {
      name: 'url',
      flag: '--url <url>',
      env: 'DISTCI_URL',
      default: 'http://127.0.0.1:8080',
      defaultDoc: '`http://127.0.0.1:8080`',
      doc: 'API URL',
    },
    {
      name: 'token',
      flag: '--token <token>',
      env: 'DISTCI_TOKEN',
      defaultDoc:
        'the token `distci dev` keeps in `<data dir>/token` (data dir: `DISTCI_DATA_DIR`, else `.distci`), when readable',
      doc: 'API token',
    },
    { name: 'json', flag: '--json', defaultDoc: 'off (with `--follow`: one JSON object a line)', doc: 'JSON output' },
  ]),
];

/** The row of `name` in `section`. */
export function optionRow(section: OptionSection, name: string): OptionRow {
  const row = OPTION_TABLE.find((r) => r.section === section && r.name === name);
  if (!row) throw new Error(`no option ${section}.${name} in OPTION_TABLE`);
  return row;
}

/**
 * The value of option `name` of `section`: the flag (`flags[name]`: a string is parsed, any other value
 * is taken as it is: a boolean flag, a value a program passed), else the env variable, else the
 * default. An empty string counts as not given.
 */
export function readOption<T>(
  section: OptionSection,
  name: string,
  flags: Readonly<Record<string, unknown>>,
  env: Env,
): T {
  const row = optionRow(section, name);
  const flag = flags[name];
  if (flag !== undefined && flag !== '') return (typeof flag === 'string' ? row.parse(flag, row) : flag) as T;
  const raw = row.env ? env[row.env] : undefined;
  if (raw !== undefined && raw !== '') return row.parse(raw, row) as T;
  // A text default goes through the parser too (a path is made absolute, a URL normalised).
  return (typeof row.default === 'string' ? row.parse(row.default, row) : row.default) as T;
}

/** The markdown table of a section: docs/configuration.md is made of these (`npm run docs:config`). */
export function optionsMarkdown(section: OptionSection): string {
  const code = (s: string | null) => (s ? `\`${s}\`` : '—');
  const lines = ['| option | flag | env | default |', '|---|---|---|---|'];
  for (const r of OPTION_TABLE.filter((x) => x.section === section)) {
    lines.push(`| ${r.doc} | ${code(r.flag)} | ${code(r.env)} | ${r.defaultDoc} |`);
  }
  return lines.join('\n');
}

const SECTIONS: readonly OptionSection[] = ['storage', 'frontend', 'worker', 'dev', 'client'];

/** `markdown` with every `<!-- options: SECTION -->` … `<!-- /options -->` block made that section's table. */
export function withOptionTables(markdown: string): string {
  return markdown.replace(/<!-- options: ([a-z]+) -->\n[\s\S]*?<!-- \/options -->/g, (whole, section: string) =>
    SECTIONS.includes(section as OptionSection)
      ? `<!-- options: ${section} -->\n${optionsMarkdown(section as OptionSection)}\n<!-- /options -->`
      : whole,
  );
}
