/**
 * The git-checkout step kind: the job's repository at one exact commit, as the workspace of the steps
 * that need it.
 *
 * 1. What to check out: the step's `ref`, else the build's ref (a webhook's branch), else the
 *    repository's `ref`, else `main`. The build's `commit` (known up front from a webhook) is checked out
 *    exactly — unless the step names its own `ref`, which then wins (a step checking out `docs` must not
 *    get the commit pushed to `main`). A full 40-hex ref is a commit.
 * 2. A ref is resolved to its commit with `git ls-remote` (one round trip, nothing fetched).
 * 3. Cache: the workspace archive of (repository URL, commit) is content-addressed in the object store
 *    (`distci.workspaces.checkoutKey`). If it exists, the checkout is a **cache hit**: nothing is fetched or
 *    downloaded, and the result names that archive (`workspaceKey`), which the dependents restore.
 *    Downloading and extracting it here would cost a transfer whose result nobody reads.
 * 4. Miss: the commit is fetched shallowly into this worker's bare mirror of the repository
 *    (`git-mirror.ts`: incremental across checkouts), and from there into the workspace: the working
 *    tree plus a self-contained one-commit `.git` (HEAD detached at the commit, `origin` = the URL), so
 *    `git` commands work in later steps on any worker. The workspace is archived once, straight to the
 *    cache key, and the result names it: no second upload for the step's own workspace key.
 *    Fencing (invariant 4) holds without attempt scoping: every attempt writes the same content to a
 *    content-addressed key, atomically.
 *
 * Failures (`StepRunResult.reason`):
 * | what | result |
 * |---|---|
 * | a local repository (a path, `file://`) on a worker that does not allow them | `failure`, reason `exit-code`, the rule and the option in the message |
 * | no repository in the job, a ref or commit the repository does not have, a repository that does not exist or refuses us, a URL git cannot use | `failure`, reason `exit-code` (the config's fault: another attempt gives the same answer), git's words in the log and the message |
 * | the network (host unknown, connection refused/reset, timeouts, a hung-up remote), the object store | thrown: the runtime releases the ticket and another attempt retries; after `maxAttempts`, `infrastructure` |
 * | cancel, timeout, drain, session loss | git is killed through the step's signal; the handler reports why |
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  allowLocalRepositoriesFrom,
  type Env,
  isDistciError,
  localRepositoryProblem,
  readOption,
} from '@distci/common';
import type { StepContext, StepKind, StepRunResult } from '../steps/step-handler.js';
import { storeWorkspace } from '../steps/workspace.js';
import {
  createGitMirrors,
  describeGitError,
  fetchIntoMirror,
  type GitMirrors,
  gitIn,
  repositoryId,
} from './git-mirror.js';

/** A full commit id (SHA-1; SHA-256 repositories have 64). */
const FULL_COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export interface GitCheckoutOptions {
  /**
   * Where the bare mirrors live. Default: `DISTCI_GIT_CACHE_DIR`, else `<DISTCI_DATA_DIR>/git-cache`,
   * else `<OS temp dir>/distci-git-cache`.
   */
  cacheDir?: string;
  /**
   * Whether a local path or `file://` URL may be checked out (`repository-location.ts`). Default:
   * `DISTCI_ALLOW_LOCAL_REPOSITORIES` (false unless `true`); `distci dev` sets it.
   */
  allowLocalRepositories?: boolean;
}

/** The default git cache dir for `env`. */
export function gitCacheDir(env: Env = process.env): string {
  const dataDir = env.DISTCI_DATA_DIR ? readOption<string>('storage', 'dataDir', {}, env) : null;
  return (
    readOption<string | undefined>('worker', 'gitCacheDir', {}, env) ??
    (dataDir ? join(dataDir, 'git-cache') : join(tmpdir(), 'distci-git-cache'))
  );
}

function failure(ctx: StepContext, message: string): StepRunResult {
  ctx.log.write(`[distci] ${message}\n`);
  return { status: 'failure', reason: 'exit-code', message, workspace: 'unchanged' };
}

/**
 * The commit `ref` names in `url`, preferring an exact ref name, then a branch, then a tag (peeled:
 * an annotated tag names its commit); null when there is none.
 */
async function resolveRef(
  ctx: StepContext,
  cwd: string,
  url: string,
  ref: string,
): Promise<{ ref: string; commit: string } | null> {
  const out = await gitIn(cwd, ctx.signal).raw(['ls-remote', '--', url, ref]);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (sha && name) refs.set(name, sha);
  }
  const exact = ref === 'HEAD' || ref.startsWith('refs/') ? [ref] : [];
  for (const name of [...exact, `refs/heads/${ref}`, `refs/tags/${ref}`]) {
    const commit = refs.get(`${name}^{}`) ?? refs.get(name);
    if (commit) return { ref: name, commit };
  }
  return null;
}

/** Up to 10 branch names of `url`, for the hint of a missing ref. */
async function someBranches(ctx: StepContext, cwd: string, url: string): Promise<string[]> {
  const out = await gitIn(cwd, ctx.signal)
    .raw(['ls-remote', '--heads', '--', url])
    .catch(() => '');
  return out
    .split('\n')
    .map((l) => l.split('\t')[1]?.replace(/^refs\/heads\//, ''))
    .filter((b): b is string => Boolean(b))
    .slice(0, 10);
}

/** The workspace: `commit`'s tree and a one-commit `.git` fetched from the mirror, HEAD detached. */
async function populate(dir: string, mirror: string, commit: string, url: string, signal: AbortSignal): Promise<void> {
  // A retry after a rebuilt mirror starts from an empty dir again.
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
  const git = gitIn(dir, signal);
  await git.raw(['init', '--quiet', '--template=', '.']);
  await git.raw(['fetch', '--quiet', '--no-tags', '--depth', '1', '--', pathToFileURL(mirror).href, commit]);
  await git.raw(['checkout', '--quiet', '--detach', commit]);
  await git.raw(['remote', 'add', 'origin', url]);
  // FETCH_HEAD names this worker's mirror path: meaningless elsewhere, and it would make archives of one
  // commit differ between workers.
  await rm(join(dir, '.git', 'FETCH_HEAD'), { force: true });
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  if (head !== commit) throw new Error(`the workspace's HEAD is ${head}, not ${commit}`);
}

export function createGitCheckoutKind(options: GitCheckoutOptions = {}): StepKind {
  let mirrors: GitMirrors | null = null;

  return {
    kind: 'git-checkout',
    restoresWorkspace: false,
    async run(ctx) {
      const say = (line: string) => ctx.log.write(`[distci] ${line}\n`);
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      mirrors ??= createGitMirrors(options.cacheDir ?? gitCacheDir());
      const { cacheDir } = mirrors;

      const repository = ctx.job.repository;
      if (!repository) {
        return failure(ctx, `job '${ctx.job.name}' has no repository; add "repository": {"url": "…"} to its config`);
      }
      const { url } = repository;
      if (url.startsWith('-')) return failure(ctx, `repository URL '${url}' cannot start with '-'`);
      // Also checked when the job is saved; a job saved before (or by a frontend that allows them) meets
      // this worker's own rule here.
      const local = localRepositoryProblem(
        url,
        options.allowLocalRepositories ?? allowLocalRepositoriesFrom(process.env),
      );
      if (local) return failure(ctx, local);
      const stepRef = ctx.config.type === 'git-checkout' ? ctx.config.ref : undefined;
      const ref = stepRef ?? ctx.payload.ref ?? repository.ref ?? 'main';
      if (ref.startsWith('-') || /[\s\0]/.test(ref)) return failure(ctx, `ref '${ref}' is not a git ref name`);
      let commit = stepRef === undefined ? ctx.payload.commit : null;
      commit ??= FULL_COMMIT.test(ref) ? ref : null;
      if (commit !== null && !FULL_COMMIT.test(commit)) {
        return failure(ctx, `commit '${commit}' is not a full commit id (40 hex digits)`);
      }

      try {
        await mkdir(cacheDir, { recursive: true });
        let fullRef: string | undefined;
        if (commit === null) {
          const found = await resolveRef(ctx, cacheDir, url, ref);
          if (!found) {
            const branches = await someBranches(ctx, cacheDir, url);
            return failure(
              ctx,
              `ref '${ref}' not found in ${url}${branches.length ? `; branches include: ${branches.join(', ')}` : ''}`,
            );
          }
          ({ ref: fullRef, commit } = found);
          say(`${url} ${fullRef} is at ${commit}`);
        }
        const id = repositoryId(url);
        const key = ctx.distci.workspaces.checkoutKey(id, commit);
        if (await ctx.distci.workspaces.has(key)) {
          say(`cache hit: ${url} at ${commit} is already archived (${key}); nothing fetched (${ms()} ms)`);
          return { status: 'success', cacheHit: true, commit, workspace: 'changed', workspaceKey: key };
        }
        say(`cache miss: fetching ${url} at ${commit} through the git cache in ${cacheDir}`);
        const wanted = commit;
        const fetched = await mirrors.with(
          url,
          ctx.signal,
          async (mirror) => {
            const got = await fetchIntoMirror(
              mirror,
              { url, commit: wanted, ...(fullRef === undefined ? {} : { ref: fullRef }) },
              ctx.signal,
            );
            if (got !== null) await populate(ctx.dir, mirror, got, url, ctx.signal);
            return got;
          },
          (why) => say(`the git cache of ${url} was unusable (${why}); rebuilt it`),
        );
        if (fetched === null) return failure(ctx, `commit ${commit} not found in ${url}`);
        // A branch that moved between ls-remote and the fetch: the workspace holds the newer commit.
        if (fetched !== commit) say(`${fullRef} moved to ${fetched} meanwhile; checked that out`);
        const archive = fetched === commit ? key : ctx.distci.workspaces.checkoutKey(id, fetched);
        const fetchedAt = ms();
        const size = await storeWorkspace(ctx.distci.workspaces, ctx.dir, archive);
        say(
          `checked out ${fetched} in ${fetchedAt} ms; archived ${size} bytes to ${archive} in ${ms() - fetchedAt} ms`,
        );
        return { status: 'success', cacheHit: false, commit: fetched, workspace: 'changed', workspaceKey: archive };
      } catch (err) {
        if (ctx.signal.aborted) return { status: 'failure', workspace: 'unchanged' };
        if (isDistciError(err)) throw err; // the object store: the runtime retries the ticket
        const git = describeGitError(err);
        if (git.transient) throw new Error(`git could not reach ${url}: ${git.message}`);
        return failure(ctx, `git failed for ${url} at ${commit ?? ref}: ${git.message}`);
      }
    },
  };
}

/** The git-checkout kind with the default cache dir (read from the environment on its first step). */
export const gitCheckoutKind: StepKind = createGitCheckoutKind();
