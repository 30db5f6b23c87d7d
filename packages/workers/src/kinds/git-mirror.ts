/**
 * The git-checkout worker's local git cache: one bare mirror per repository URL under a cache dir, so
 * that the next fetch of the same repository sends only what changed (git negotiates from the mirror's
 * refs: measured on a 5 MB repository, a second `--depth 1` fetch after a one-line commit received 3
 * objects).
 *
 * - Fetches are shallow (`--depth 1`): a CI checkout needs one commit, not the history.
 * - Each fetch updates a ref in the mirror (the branch or tag it fetched, or `refs/distci/commit`):
 *   without refs git has nothing to negotiate from and every fetch would be a full one.
 * - `uploadpack.allowAnySHA1InWant` is set in every mirror so a workspace can fetch one commit from it
 *   by id (the mirror is the "server" of that local fetch).
 * - One mirror is used by one operation at a time in this process (a promise chain per mirror, no
 *   polling). Another process sharing the cache dir is kept from corrupting a mirror by git's own lock
 *   files; its fetch then fails, and the mirror is rebuilt (below) — correct, only slower, so give each
 *   worker process its own cache dir when several run on one host.
 * - A mirror that fails for a local reason (a crash mid-fetch leaves `shallow.lock` or a ref lock, a
 *   disk error corrupts a pack) is thrown away and rebuilt once: the cache is only a cache.
 *
 * Every git client dies after `DISTCI_GIT_TIMEOUT_MS` (default 10 min): a server that accepts the
 * connection and never answers held a checkout (and its worker slot) for as long as the step's own
 * timeout, which by default is none. A timeout counts as transient (the network).
 *
 * Git runs through simple-git with an abort signal (the step's), no terminal prompts
 * (`GIT_TERMINAL_PROMPT=0`: a private repository fails at once instead of hanging on a password prompt)
 * and `--` before every URL, so that a URL from a job config is never read as an option.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { coerceError, type Env, readOption } from '@distci/common';
import { nanoid } from 'nanoid';
import { type SimpleGit, simpleGit } from 'simple-git';

/** A git command's settings for every call: quiet, reproducible, never interactive. */
const GIT_CONFIG = [
  'advice.detachedHead=false',
  'init.defaultBranch=main',
  'core.logAllRefUpdates=false',
  'gc.autoDetach=false',
];

/**
 * The worker's environment without what could redirect or hijack git: every `GIT_*` variable (a
 * `GIT_DIR` of the worker's own shell would point git elsewhere) and the editor, pager and askpass
 * programs simple-git refuses to pass on.
 */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(git_|editor$|visual$|pager$|prefix$|ssh_askpass$)/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, GIT_TERMINAL_PROMPT: '0' };
}

/** `DISTCI_GIT_TIMEOUT_MS` from `env` (the `worker` row `gitTimeoutMs`): how long one git client may run. */
export function gitTimeoutMs(env: Env = process.env): number {
  return readOption<number>('worker', 'gitTimeoutMs', {}, env);
}

/** simple-git's message when its abort signal fires; ours fires on the step's stop or the git timeout. */
const ABORTED = /abort signal received/i;

/** A git client in `baseDir` whose processes die when `signal` aborts or after `gitTimeoutMs()`. */
export function gitIn(baseDir: string, signal: AbortSignal): SimpleGit {
  return simpleGit({
    baseDir,
    abort: AbortSignal.any([signal, AbortSignal.timeout(gitTimeoutMs())]),
    config: GIT_CONFIG,
    allowEnvironment: ['GIT_TERMINAL_PROMPT'],
    // `init --template=` (an empty template) keeps sample hooks out of every archive, and any hook a
    // global template dir would install out of the workspace. Our own arguments, never a job's.
    unsafe: { allowUnsafeTemplateDir: true },
  }).env(gitEnv());
}

/** The sha256 of a repository URL: names its mirror and its checkout cache entries. */
export function repositoryId(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/**
 * Errors of the network rather than of the repository or the ref: worth another attempt (possibly on
 * another worker). Matched on git's messages, which are stable across versions for these.
 */
const TRANSIENT =
  /could not resolve host|failed to connect|couldn't connect|connection (refused|reset|timed out)|operation timed out|timed out after|network is unreachable|no route to host|temporary failure in name resolution|the remote end hung up unexpectedly|early eof|rpc failed|unexpected disconnect|http\/2 stream \d+ was not closed cleanly|gnutls_handshake\(\) failed|ssl_connect|returned error: 5\d\d/i;

export interface GitFailure {
  /** git's own words (its `fatal:`/`error:` lines, or the whole message). */
  message: string;
  transient: boolean;
}

export function describeGitError(err: unknown): GitFailure {
  const raw = coerceError(err).message.trim();
  // Callers check the step's own signal first: an abort they did not cause is the git timeout.
  if (ABORTED.test(raw)) {
    return { message: `git did not finish within ${gitTimeoutMs()} ms (DISTCI_GIT_TIMEOUT_MS)`, transient: true };
  }
  const lines = raw.split('\n').map((l) => l.trim());
  const important = lines.filter((l) => /^(fatal|error|remote):/i.test(l));
  const message = (important.length ? important : lines.filter(Boolean)).join('; ') || 'git failed';
  return { message, transient: TRANSIENT.test(raw) };
}

export interface MirrorTarget {
  url: string;
  /** A full ref name from `ls-remote` (`refs/heads/main`, `refs/tags/v1`, `HEAD`): fetched when given… */
  ref?: string;
  /** …else this exact commit id. Either way, a commit the mirror already has is not fetched again. */
  commit?: string;
}

export interface GitMirrors {
  readonly cacheDir: string;
  /**
   * Runs `fn` holding the mirror of `url` (created when missing); a failure of `fn` that is neither
   * transient nor an abort rebuilds the mirror and runs `fn` once more.
   */
  with<T>(
    url: string,
    signal: AbortSignal,
    fn: (mirror: string) => Promise<T>,
    onRebuild?: (why: string) => void,
  ): Promise<T>;
}

export function createGitMirrors(cacheDir: string): GitMirrors {
  const chains = new Map<string, Promise<unknown>>();

  const ensure = async (mirror: string, signal: AbortSignal): Promise<void> => {
    const exists = await stat(join(mirror, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (exists) return;
    await rm(mirror, { recursive: true, force: true });
    await mkdir(mirror, { recursive: true });
    const git = gitIn(mirror, signal);
    await git.raw(['init', '--quiet', '--bare', '--template=', '.']);
    await git.raw(['config', 'uploadpack.allowAnySHA1InWant', 'true']);
  };

  /** Moves a broken mirror out of the way first, so a half-removed one is never mistaken for a mirror. */
  const discard = async (mirror: string): Promise<void> => {
    const trash = `${mirror}.trash-${nanoid(6)}`;
    await rename(mirror, trash).catch(() => {});
    await rm(trash, { recursive: true, force: true });
  };

  return {
    cacheDir,
    async with(url, signal, fn, onRebuild) {
      const mirror = join(cacheDir, `${repositoryId(url)}.git`);
      const previous = chains.get(mirror) ?? Promise.resolve();
      const run = previous
        .catch(() => {})
        .then(async () => {
          await ensure(mirror, signal);
          try {
            return await fn(mirror);
          } catch (err) {
            if (signal.aborted || describeGitError(err).transient) throw err;
            onRebuild?.(describeGitError(err).message);
            await discard(mirror);
            await ensure(mirror, signal);
            return await fn(mirror);
          }
        });
      chains.set(mirror, run);
      try {
        return await run;
      } finally {
        if (chains.get(mirror) === run) chains.delete(mirror);
      }
    },
  };
}

/**
 * Fetches `target` into the mirror, shallow; returns the commit id it fetched, or null when the remote
 * has no such commit. An explicit commit the server will not send by id (old servers refuse unadvertised
 * objects) is looked for in a full fetch of the branches and tags.
 */
export async function fetchIntoMirror(
  mirror: string,
  target: MirrorTarget,
  signal: AbortSignal,
): Promise<string | null> {
  const git = gitIn(mirror, signal);
  const { url } = target;
  const has = (commit: string) =>
    git.raw(['cat-file', '-e', `${commit}^{commit}`]).then(
      () => true,
      () => false,
    );
  // Another build of the same commit (its object-store cache entry evicted, or a branch build and a
  // webhook build of one commit) needs no network at all.
  if (target.commit && (await has(target.commit))) return target.commit;
  if (target.commit && !target.ref) {
    const commit = target.commit;
    try {
      await git.raw(['fetch', '--quiet', '--no-tags', '--depth', '1', '--', url, `+${commit}:refs/distci/commit`]);
    } catch (err) {
      if (signal.aborted || describeGitError(err).transient) throw err;
      const shallow = (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
      await git.raw([
        'fetch',
        '--quiet',
        ...(shallow ? ['--unshallow'] : []),
        '--',
        url,
        '+refs/heads/*:refs/heads/*',
        '+refs/tags/*:refs/tags/*',
      ]);
    }
    return (await has(commit)) ? commit : null;
  }
  const ref = target.ref ?? 'HEAD';
  // HEAD and refs outside heads/tags land under refs/distci/, never over the mirror's own HEAD.
  const local = /^refs\/(heads|tags)\//.test(ref) ? ref : `refs/distci/${ref === 'HEAD' ? 'HEAD' : ref.slice(5)}`;
  await git.raw(['fetch', '--quiet', '--no-tags', '--depth', '1', '--', url, `+${ref}:${local}`]);
  return (await git.raw(['rev-parse', '--verify', `${local}^{commit}`])).trim();
}
