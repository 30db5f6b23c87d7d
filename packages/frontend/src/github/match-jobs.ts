/**
 * Which jobs a GitHub delivery builds, at which ref and commit.
 *
 * - `push` to `refs/heads/<branch>` (not a deletion): every job whose repository URL is the
 *   payload's repository (`repository-url.ts`), whose `triggers.github.events` lists `push`, and whose
 *   `triggers.github.branches` globs match the branch (none = every branch). Built at `after`, ref =
 *   the pushed ref.
 * - `push` of a tag (`refs/tags/<tag>`, not a deletion): jobs listing `push` whose `triggers.github.tags`
 *   globs match the tag (`v*`); a job without `tags` builds no tag (as GitHub Actions' `tags` filter).
 * - `pull_request` opened / synchronize / reopened / ready_for_review: jobs listing `pull_request`, with the branch
 *   filter applied to the *base* branch (the branch the change would land on). Built at
 *   `pull_request.head.sha`, ref = `refs/pull/<number>/head` — the ref that holds the head commit in
 *   the base repository, also for a pull request from a fork, whose branch the base repository lacks.
 * Globs: picomatch (`*` stays within one `/` segment, `**` crosses them, `release/*`), any glob matching
 * is a match.
 *
 * Cost: every job config is read (the job listing by prefix, then one GET per job, 16 at a time). That is fine
 * for hundreds of jobs; an index by repository (like the `after` index) is the next step beyond that.
 */
import { type GithubEvent, isDistciError, type JobsService, type MatchedJob, type StoredJob } from '@distci/common';
import picomatch from 'picomatch';
import { normaliseRepositoryUrl } from './repository-url.js';

export type { GithubEvent, MatchedJob };

/** What a delivery asks for, read from its payload. */
export interface BuildRequest {
  event: GithubEvent;
  /** Every normalised form of the payload's repository URLs. */
  repositories: Set<string>;
  /** The branch the filter is applied to. */
  branch: string;
  /** A tag push: the tag (the branch filter does not apply; the job's `tags` globs do). */
  tag?: string;
  ref: string;
  commit: string;
  sender: string | null;
  /** A pull request from another repository (a fork): its builds get no secrets. */
  fork: boolean;
  /** The repository's `owner/name` (a pull request's base): where the builds' commit statuses go. */
  repo: string | null;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const PULL_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'ready_for_review']);
/** 16 config reads in flight: enough to hide the object store's latency without a socket per job. */
const READ_CONCURRENCY = 16;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function repositoriesOf(payload: Obj): Set<string> {
  const repo = obj(payload.repository);
  const out = new Set<string>();
  for (const field of ['clone_url', 'ssh_url', 'git_url', 'html_url', 'svn_url']) {
    const url = str(repo?.[field]);
    const normal = url ? normaliseRepositoryUrl(url) : null;
    if (normal) out.add(normal);
  }
  return out;
}

/**
 * The build request of a delivery, null when it asks for none (a deletion, a closed or
 * labelled pull request), or a string saying why the payload is not what its event promises.
 */
export function buildRequestOf(event: string, payload: unknown): BuildRequest | null | string {
  if (event !== 'push' && event !== 'pull_request') return null;
  const p = obj(payload);
  if (!p) return 'the payload is not a JSON object';
  const sender = str(obj(p.sender)?.login);
  const repositories = repositoriesOf(p);
  const repo = str(obj(p.repository)?.full_name);
  if (repositories.size === 0) return 'the payload has no repository URL';
  if (event === 'push') {
    const ref = str(p.ref);
    const after = str(p.after);
    if (!ref || !after) return 'a push payload needs ref and after';
    if (p.deleted === true || /^0+$/.test(after)) return null;
    const tag = ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : null;
    if (!tag && !ref.startsWith('refs/heads/')) return null;
    if (!COMMIT.test(after)) return 'after is not a commit id';
    if (tag) return { event, repositories, branch: '', tag, ref, commit: after, sender, fork: false, repo };
    const branch = ref.slice('refs/heads/'.length);
    return { event, repositories, branch, ref, commit: after, sender, fork: false, repo };
  }
  const action = str(p.action);
  const pr = obj(p.pull_request);
  if (!action || !pr) return 'a pull_request payload needs action and pull_request';
  if (!PULL_ACTIONS.has(action)) return null;
  const number = pr.number ?? p.number;
  const sha = str(obj(pr.head)?.sha);
  const base = str(obj(pr.base)?.ref);
  if (!Number.isSafeInteger(number) || !sha || !COMMIT.test(sha) || !base) {
    return 'a pull_request payload needs number, head.sha and base.ref';
  }
  // From a fork when the head's repository is another one than the base's, or is gone (a deleted fork).
  const headRepo = str(obj(obj(pr.head)?.repo)?.full_name);
  const baseRepo = str(obj(obj(pr.base)?.repo)?.full_name);
  const fork = headRepo === null || headRepo !== baseRepo;
  return { event, repositories, branch: base, ref: `refs/pull/${number}/head`, commit: sha, sender, fork, repo };
}

/** Whether a job's config asks for builds of this request. */
export function jobWants(stored: StoredJob, req: BuildRequest): boolean {
  const github = stored.config.triggers?.github;
  if (!github?.events?.includes(req.event)) return false;
  const url = stored.config.repository?.url;
  const normal = url ? normaliseRepositoryUrl(url) : null;
  if (!normal || !req.repositories.has(normal)) return false;
  if (req.tag !== undefined) {
    const tags = github.tags ?? [];
    return tags.length > 0 && picomatch.isMatch(req.tag, tags, { dot: true });
  }
  const globs = github.branches ?? [];
  return globs.length === 0 || picomatch.isMatch(req.branch, globs, { dot: true });
}

/** Every job that wants this request, with the config version it runs. */
export async function matchJobs(jobs: JobsService, req: BuildRequest): Promise<MatchedJob[]> {
  const names = await jobs.names();
  const matched: MatchedJob[] = [];
  let i = 0;
  const worker = async () => {
    while (i < names.length) {
      const name = names[i++]!;
      try {
        const stored = await jobs.load(name);
        if (jobWants(stored, req)) matched.push({ job: name, config: stored.version });
      } catch (err) {
        // A deleted job (its versions stay), or a name that is not a job's: not a match.
        if (!isDistciError(err, 'DISTCI_JOB_NOT_FOUND') && !isDistciError(err, 'DISTCI_BAD_PATH')) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, names.length) }, worker));
  return matched.sort((a, b) => (a.job < b.job ? -1 : 1));
}
