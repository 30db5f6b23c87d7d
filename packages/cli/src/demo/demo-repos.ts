/**
 * The demo's git repositories: each directory of `jobs/repos/` becomes a local git repository under
 * `<data dir>/demo/repos/<name>` (branch `main`, one commit), so the sample jobs build on a machine
 * without internet. Commits are made with a fixed author and date, so the same sources always give
 * the same commit: a second demo run hits the git-checkout cache instead of fetching again.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** 2024-01-01T00:00:00Z: any fixed date; it keeps commit ids stable across demo runs. */
const FIXED_DATE = '1704067200 +0000';

export interface DemoRepo {
  name: string;
  dir: string;
  /** The URL the job configs get (`file://…`: git fetches it like any remote, shallow fetches included). */
  url: string;
  commit: string;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const env: Record<string, string> = {};
  // Only what git needs to run, plus a fixed identity: the user's git config and GIT_* variables must
  // not change what the demo commits (or make it fail for want of user.name).
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[name]) env[name] = process.env[name]!;
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'distci demo',
    GIT_AUTHOR_EMAIL: 'demo@distci.invalid',
    GIT_COMMITTER_NAME: 'distci demo',
    GIT_COMMITTER_EMAIL: 'demo@distci.invalid',
    GIT_AUTHOR_DATE: FIXED_DATE,
    GIT_COMMITTER_DATE: FIXED_DATE,
    GIT_TERMINAL_PROMPT: '0',
  });
  try {
    const { stdout } = await run('git', args, { cwd, env });
    return stdout.trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('git is not installed: the demo needs it (e.g. `apt-get install git`)');
    throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Makes (or remakes) a git repository of every directory in `sourcesDir` under `reposDir`. */
export async function createDemoRepos(sourcesDir: string, reposDir: string): Promise<Map<string, DemoRepo>> {
  const repos = new Map<string, DemoRepo>();
  const entries = await readdir(sourcesDir, { withFileTypes: true });
  await mkdir(reposDir, { recursive: true });
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = join(reposDir, entry.name);
    await rm(dir, { recursive: true, force: true });
    await cp(join(sourcesDir, entry.name), dir, { recursive: true });
    await git(dir, ['init', '--quiet', '--template=', '--initial-branch=main']);
    await git(dir, ['add', '--all']);
    await git(dir, ['commit', '--quiet', '--no-gpg-sign', '--message', `${entry.name}: sample sources`]);
    const commit = await git(dir, ['rev-parse', 'HEAD']);
    repos.set(entry.name, { name: entry.name, dir, url: pathToFileURL(dir).href, commit });
  }
  return repos;
}

/**
 * A job config with its repository pointed at the demo repository of the same name as the repository
 * URL's last segment (`…/pipeline.git` → the `pipeline` repository); a job without a repository, or
 * whose repository has no demo counterpart, is returned unchanged.
 */
export function withDemoRepository<T extends Record<string, unknown>>(job: T, repos: Map<string, DemoRepo>): T {
  const repository = job.repository as { url?: unknown } | undefined;
  if (typeof repository?.url !== 'string') return job;
  const last = repository.url.replace(/\/+$/, '').split('/').pop() ?? '';
  const repo = repos.get(last.replace(/\.git$/, ''));
  return repo ? { ...job, repository: { ...repository, url: repo.url } } : job;
}
