/**
 * Is a job's `repository.url` on the network, or a path on the machine that reads it? A local one
 * (`file://…`, `/srv/repo`, `../repo`, `repo`) lets whoever may save a job read any repository the
 * worker can: another job's git cache mirror, a private checkout on the worker's disk. So local
 * repositories are refused unless the operator allows them (`DISTCI_ALLOW_LOCAL_REPOSITORIES=true`,
 * on by default in `distci dev`, whose demo repositories are local).
 *
 * Remote forms (git's own rules, `git help fetch` "GIT URLS"): `http(s)://`, `ssh://`, `git://`
 * (and the `git+ssh://` / `ssh+git://` spellings), and the scp-like `[user@]host:path` — a colon
 * before the first slash. Everything else is a path to git, or a remote helper (`transport::address`),
 * and counts as local.
 */
import { distciError } from '../errors.js';
import { type Env, readOption } from '../option-table.js';

const REMOTE_SCHEME = /^(https?|ssh|git|git\+ssh|ssh\+git):\/\/[^/]/i;
/** scp-like: `host:path` or `user@host:path`, no slash before the colon, not a drive letter `C:`. */
const SCP_LIKE = /^([^@/:]+@)?[^/:]{2,}:(?!:)/;

export function isLocalRepositoryUrl(url: string): boolean {
  if (REMOTE_SCHEME.test(url)) return false;
  if (url.includes('::')) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return true; // file:// and schemes git reads locally
  return !SCP_LIKE.test(url);
}

/** Why `url` is refused on a system that does not allow local repositories, or null. */
export function localRepositoryProblem(url: string, allowLocal: boolean): string | null {
  if (allowLocal || !isLocalRepositoryUrl(url)) return null;
  return `'${url}' is a local path, not a remote repository; this system does not allow local repositories (set DISTCI_ALLOW_LOCAL_REPOSITORIES=true on the frontend and the git-checkout workers to allow them)`;
}

/** DISTCI_LOCAL_REPOSITORY for a refused `url`. */
export function localRepositoryError(url: string) {
  return distciError('DISTCI_LOCAL_REPOSITORY', localRepositoryProblem(url, false) ?? url, {
    details: { problems: [{ path: 'repository.url', message: localRepositoryProblem(url, false) }] },
  });
}

/** `DISTCI_ALLOW_LOCAL_REPOSITORIES` from `env`: `true` or `false` (the default), anything else refused. */
export function allowLocalRepositoriesFrom(env: Env): boolean {
  return readOption<boolean>('worker', 'allowLocalRepositories', {}, env);
}
